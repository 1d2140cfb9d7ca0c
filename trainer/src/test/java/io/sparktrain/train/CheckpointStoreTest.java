package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sparktrain.optim.OptimizerState;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.hadoop.conf.Configuration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointStoreTest {
  private static final Configuration CONF = new Configuration();

  @TempDir
  Path tmp;

  private CheckpointStore store(Path dir, int keep) throws IOException {
    return new CheckpointStore(dir.toUri().toString(), CONF, keep);
  }

  private static float[] randomFloats(int n, long seed) {
    Random r = new Random(seed);
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = (float) r.nextGaussian();
    return v;
  }

  private static Checkpoint simple(long round) {
    return new Checkpoint(round, (int) (round / 10), round % 10, 42L, randomFloats(16, round), null,
        null, "{\"round\":" + round + "}", Map.of(), 1000L + round);
  }

  private static int[] bits(float[] v) {
    int[] b = new int[v.length];
    for (int i = 0; i < v.length; i++) b[i] = Float.floatToRawIntBits(v[i]);
    return b;
  }

  /** Regular files in {@code dir}, without Hadoop's local ".*.crc" checksum sidecars. */
  private static List<String> files(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.endsWith(".crc")).sorted()
          .collect(Collectors.toList());
    }
  }

  private static Path sidecar(Path file) {
    return file.resolveSibling("." + file.getFileName() + ".crc");
  }

  @Test
  void roundTripIsBitExact() throws IOException {
    float[] params = randomFloats(1000, 1);
    params[0] = Float.intBitsToFloat(0x7fc01234); // NaN with a payload
    params[1] = -0.0f;
    params[2] = Float.MIN_VALUE;                   // subnormal
    params[3] = Float.NEGATIVE_INFINITY;
    float[] best = randomFloats(1000, 2);
    float[][] slots = {randomFloats(1000, 3), randomFloats(1000, 4)};
    slots[1][7] = Float.intBitsToFloat(0xffc00001);
    OptimizerState opt = new OptimizerState(123_456_789_012L, slots);
    Map<String, String> extras = new LinkedHashMap<>();
    extras.put("bestMetric", "0.8125");
    extras.put("bestRound", "17");
    extras.put("note", "ünïcødé ✓ \"quoted\"");
    String config = "{\"layers\":[784,128,10],\"name\":\"mnist ✓\",\"lr\":1.0E-3}";
    Checkpoint c = new Checkpoint(12, 3, 4, -7L, params, best, opt, config, extras, 1_700_000_000_123L);

    CheckpointStore store = store(tmp.resolve("ckpt"), 3);
    store.save(c);
    assertEquals(List.of("ckpt-000000000012.bin"), files(tmp.resolve("ckpt")));
    Checkpoint d = store.load(12);

    assertEquals(12, d.round());
    assertEquals(3, d.epoch());
    assertEquals(4, d.roundInEpoch());
    assertEquals(-7L, d.seed());
    assertEquals(1_700_000_000_123L, d.createdMillis());
    assertArrayEquals(bits(params), bits(d.params()));
    assertTrue(d.hasBestParams());
    assertArrayEquals(bits(best), bits(d.bestParams()));
    assertEquals(config, d.configJson());
    assertEquals(extras, d.extras());
    assertEquals(new ArrayList<>(extras.keySet()), new ArrayList<>(d.extras().keySet()));
    OptimizerState o = d.optimizerState();
    assertEquals(123_456_789_012L, o.steps());
    assertEquals(2, o.slotCount());
    for (int i = 0; i < 2; i++) assertArrayEquals(bits(slots[i]), bits(o.slot(i)));

    // Without bestParams, without optimizer state, without extras, with an empty config.
    Checkpoint bare = new Checkpoint(13, 3, 5, 9L, new float[] {1f, 2f}, null, null, "", null, 5L);
    store.save(bare);
    Checkpoint e = store.load(13);
    assertFalse(e.hasBestParams());
    assertNull(e.bestParams());
    assertNull(e.optimizerState());
    assertTrue(e.extras().isEmpty());
    assertEquals("", e.configJson());
    assertArrayEquals(new float[] {1f, 2f}, e.params());

    // An optimizer state with no slots (plain SGD) and an empty parameter vector.
    Checkpoint sgd = new Checkpoint(14, 0, 0, 0L, new float[0], new float[0],
        new OptimizerState(3, new float[0][]), "{}", Map.of("k", ""), 0L);
    store.save(sgd);
    Checkpoint f = store.load(14);
    assertEquals(0, f.params().length);
    assertEquals(0, f.bestParams().length);
    assertEquals(0, f.optimizerState().slotCount());
    assertEquals(3, f.optimizerState().steps());
    assertEquals(Map.of("k", ""), f.extras());
  }

  @Test
  void checkpointCopiesArraysAndValidates() {
    float[] p = {1f, 2f};
    float[] b = {3f, 4f};
    Checkpoint c = new Checkpoint(1, 0, 1, 0L, p, b, null, "{}", Map.of(), 0L);
    p[0] = 9f;
    b[0] = 9f;
    assertEquals(1f, c.params()[0]);
    assertEquals(3f, c.bestParams()[0]);
    assertNotSame(c.params(), c.params());
    c.params()[1] = 9f;
    assertEquals(2f, c.params()[1]);
    assertThrows(UnsupportedOperationException.class, () -> c.extras().put("a", "b"));

    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new Checkpoint(1, 0, 1, 0L, new float[2], new float[3], null, "{}", null, 0L));
    assertEquals("checkpoint bestParams: expected 2 values (the size of params), found 3", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new Checkpoint(1, 0, 1, 0L, new float[2],
        null, new OptimizerState(1, new float[][] {new float[5]}), "{}", null, 0L));
    assertTrue(e.getMessage().contains("slot 0: expected 2 values"), e.getMessage());
    assertThrows(IllegalArgumentException.class,
        () -> new Checkpoint(-1, 0, 0, 0L, new float[2], null, null, "{}", null, 0L));
  }

  @Test
  void keepsTheLastK() throws IOException {
    Path dir = tmp.resolve("k");
    CheckpointStore store = store(dir, 3);
    for (long r = 1; r <= 7; r++) {
      store.save(simple(r));
      assertEquals(Math.min(r, 3), store.rounds().size());
    }
    assertEquals(List.of(5L, 6L, 7L), store.rounds());
    assertEquals(List.of("ckpt-000000000005.bin", "ckpt-000000000006.bin", "ckpt-000000000007.bin"),
        files(dir));

    CheckpointStore one = store(tmp.resolve("one"), 1);
    one.save(simple(1));
    one.save(simple(2));
    assertEquals(List.of(2L), one.rounds());
    // Saving an older round never deletes the checkpoint just saved.
    one.save(simple(1));
    assertEquals(List.of(1L), one.rounds());
  }

  @Test
  void latestIsTheHighestRound() throws IOException {
    CheckpointStore store = store(tmp.resolve("l"), 10);
    assertEquals(Optional.empty(), store.latest()); // directory does not exist yet
    assertEquals(List.of(), store.rounds());
    for (long r : new long[] {3, 1, 12, 5}) store.save(simple(r));
    assertEquals(List.of(1L, 3L, 5L, 12L), store.rounds());
    Checkpoint c = store.latest().orElseThrow();
    assertEquals(12, c.round());
    assertEquals("{\"round\":12}", c.configJson());
    assertArrayEquals(bits(simple(12).params()), bits(c.params()));

    // Saving the same round again replaces it.
    Checkpoint again = new Checkpoint(12, 1, 2, 42L, new float[] {5f}, null, null, "{\"v\":2}", null, 0L);
    store.save(again);
    assertEquals(List.of(1L, 3L, 5L, 12L), store.rounds());
    assertEquals("{\"v\":2}", store.latest().orElseThrow().configJson());
    // Rounds beyond 12 digits still sort numerically.
    store.save(simple(1_000_000_000_000L));
    assertEquals(1_000_000_000_000L, store.latest().orElseThrow().round());
  }

  @Test
  void leftoverTemporaryIsIgnored() throws IOException {
    Path dir = tmp.resolve("t");
    CheckpointStore store = store(dir, 2);
    store.save(simple(2));
    // A crash mid-save leaves a temporary (here: garbage under a newer round).
    Files.write(dir.resolve("_tmp-ckpt-000000000009.bin-1b4e28ba-2fa1-11d2-883f-0016d3cca427"),
        new byte[] {1, 2, 3});
    Files.write(dir.resolve("notes.txt"), new byte[] {1});
    assertEquals(List.of(2L), store.rounds());
    assertEquals(2, store.latest().orElseThrow().round());
    store.save(simple(3));
    store.save(simple(4));
    assertEquals(List.of(3L, 4L), store.rounds());
  }

  /**
   * Per-round state directories follow the kept checkpoints: a save deletes those of pruned rounds
   * and leftovers of rounds without a checkpoint (a crash between writing the state and the
   * checkpoint), never a kept round's; discardRound deletes a round's checkpoint, then its state.
   */
  @Test
  void stateDirectoriesArePrunedWithTheirCheckpoints() throws IOException {
    Path dir = tmp.resolve("s");
    CheckpointStore store = store(dir, 2);
    assertEquals("silo-state/round-000000000003", CheckpointStore.stateDirName(3));
    for (long r = 1; r <= 3; r++) {
      Files.createDirectories(dir.resolve(CheckpointStore.stateDirName(r)));
      Files.write(dir.resolve(CheckpointStore.stateDirName(r)).resolve("silo-00000.bin"), new byte[] {1});
      store.save(simple(r));
    }
    Files.createDirectories(dir.resolve(CheckpointStore.stateDirName(9))); // a crash before ckpt 9
    Files.write(dir.resolve("silo-state/notes.txt"), new byte[] {1});
    assertEquals(List.of(2L, 3L), store.rounds());
    assertEquals(List.of("notes.txt", "round-000000000002", "round-000000000003", "round-000000000009"),
        names(dir.resolve("silo-state")));
    store.save(simple(4));
    assertEquals(List.of(3L, 4L), store.rounds());
    assertEquals(List.of("notes.txt", "round-000000000003"), names(dir.resolve("silo-state")));
    store.discardRound(3);
    assertEquals(List.of(4L), store.rounds());
    assertEquals(List.of("notes.txt"), names(dir.resolve("silo-state")));
    store.discardRound(5); // nothing to discard
    assertEquals(dir.toUri().toString().replaceAll("/$", "").replace("file:///", "file:/")
        + "/silo-state/round-000000000004", store.stateDir(4).toString());
  }

  private static List<String> names(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).filter(n -> !n.startsWith(".")).sorted()
          .collect(Collectors.toList());
    }
  }

  private Path savedFile(String name, long round) throws IOException {
    Path dir = tmp.resolve(name);
    CheckpointStore store = store(dir, 5);
    store.save(new Checkpoint(round, 0, round, 1L, randomFloats(64, round), randomFloats(64, 7),
        new OptimizerState(5, new float[][] {randomFloats(64, 8)}), "{\"a\":1}", Map.of("x", "y"), 0L));
    return dir.resolve(CheckpointStore.fileName(round));
  }

  private static void flipByte(Path file, int offset) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[offset] ^= 0x5a;
    Files.write(file, b);
  }

  @Test
  void corruptedFileFailsWithBadChecksum() throws IOException {
    Path file = savedFile("c", 12);
    // Drop Hadoop's local .crc sidecar so the store's own checksum is what catches it (as on s3a).
    Files.delete(sidecar(file));
    flipByte(file, 100); // inside params
    CheckpointStore store = store(file.getParent(), 5);
    IOException e = assertThrows(IOException.class, () -> store.load(12));
    assertTrue(e.getMessage().startsWith(store.pathFor(12) + ": bad checksum: expected "), e.getMessage());
    assertTrue(e.getMessage().contains("ckpt-000000000012.bin"), e.getMessage());
    e = assertThrows(IOException.class, store::latest);
    assertTrue(e.getMessage().contains(": bad checksum: expected "), e.getMessage());
  }

  @Test
  void corruptedLengthFieldFailsWithBadChecksumNotAHugeAllocation() throws IOException {
    Path file = savedFile("len", 3);
    Files.delete(sidecar(file));
    // Header is 20 bytes, then 36 bytes of counters: the params length is the int at 56.
    flipByte(file, 56);
    CheckpointStore store = store(file.getParent(), 5);
    IOException e = assertThrows(IOException.class, () -> store.load(3));
    assertTrue(e.getMessage().contains("ckpt-000000000003.bin: bad checksum: expected "), e.getMessage());
  }

  @Test
  void corruptedFileWithSidecarIsReportedByTheFileSystem() throws IOException {
    Path file = savedFile("cs", 4);
    flipByte(file, 100); // .crc sidecar kept: Hadoop's LocalFileSystem detects it first
    CheckpointStore store = store(file.getParent(), 5);
    IOException e = assertThrows(IOException.class, () -> store.load(4));
    assertTrue(e.getMessage().contains("ckpt-000000000004.bin: bad checksum"), e.getMessage());
  }

  @Test
  void truncatedFileFails() throws IOException {
    Path file = savedFile("tr", 6);
    Files.delete(sidecar(file));
    byte[] b = Files.readAllBytes(file);
    Files.write(file, Arrays.copyOf(b, b.length - 10));
    CheckpointStore store = store(file.getParent(), 5);
    IOException e = assertThrows(IOException.class, () -> store.load(6));
    assertEquals(store.pathFor(6) + ": truncated: expected " + b.length + " bytes, found "
        + (b.length - 10), e.getMessage());

    Files.write(file, Arrays.copyOf(b, 10));
    e = assertThrows(IOException.class, () -> store.load(6));
    assertEquals(store.pathFor(6) + ": truncated: expected at least 24 bytes, found 10", e.getMessage());
  }

  @Test
  void wrongMagicAndVersionFail() throws IOException {
    Path file = savedFile("m", 8);
    Files.delete(sidecar(file));
    byte[] good = Files.readAllBytes(file);
    CheckpointStore store = store(file.getParent(), 5);

    byte[] b = good.clone();
    b[11] = 9; // version int at bytes 8..11
    Files.write(file, b);
    IOException e = assertThrows(IOException.class, () -> store.load(8));
    assertEquals(store.pathFor(8) + ": unsupported format version: expected 1, found 9", e.getMessage());

    Files.write(file, "PK\u0003\u0004 this is a zip file, honest".getBytes("US-ASCII"));
    e = assertThrows(IOException.class, () -> store.load(8));
    assertTrue(e.getMessage().startsWith(store.pathFor(8) + ": bad magic: expected \"SPTRCKPT\", found 0x"),
        e.getMessage());
  }

  /** Three checkpoints (rounds 1-3) in {@code name}; returns the store. */
  private CheckpointStore threeRounds(String name) throws IOException {
    CheckpointStore store = store(tmp.resolve(name), 3);
    for (long r = 1; r <= 3; r++) store.save(simple(r));
    return store;
  }

  private Path file(CheckpointStore store, long round) {
    return Path.of(store.pathFor(round).toUri());
  }

  @Test
  void resumeFallsBackPastATruncatedAFlippedAndAnOldVersionCheckpointAndMovesThemAside() throws IOException {
    CheckpointStore store = store(tmp.resolve("fb"), 5);
    for (long r = 1; r <= 4; r++) store.save(simple(r));
    byte[] b = Files.readAllBytes(file(store, 4));
    Files.write(file(store, 4), Arrays.copyOf(b, b.length - 10)); // truncated (its .crc sidecar now disagrees too)
    flipByte(file(store, 3), 60); // a flipped byte inside the parameters, .crc kept
    Files.delete(sidecar(file(store, 2)));
    byte[] v = Files.readAllBytes(file(store, 2));
    v[11] = 9; // format version 9, no sidecar: the store's own check reads it
    Files.write(file(store, 2), v);

    CheckpointStore.Usable u = store.latestUsable(c -> null);
    assertEquals(1, u.checkpoint().orElseThrow().round());
    assertArrayEquals(bits(simple(1).params()), bits(u.checkpoint().get().params()));
    assertEquals(3, u.skipped().size());
    List<String> reasons = u.skipped().stream().map(CheckpointStore.Skipped::reason).collect(Collectors.toList());
    assertTrue(reasons.get(0).contains("checksum") || reasons.get(0).contains("truncated"), reasons.get(0));
    assertTrue(reasons.get(1).contains("checksum"), reasons.get(1));
    assertEquals("unsupported format version: expected 1, found 9", reasons.get(2));
    // Moved aside, never deleted; the store no longer lists them.
    assertEquals(List.of("ckpt-000000000001.bin", "ckpt-000000000002.bin.damaged", "ckpt-000000000003.bin.damaged",
        "ckpt-000000000004.bin.damaged"), files(tmp.resolve("fb")));
    assertEquals(List.of(1L), store.rounds());
    assertEquals(b.length - 10, Files.size(tmp.resolve("fb").resolve("ckpt-000000000004.bin.damaged")));
    assertTrue(u.skipped().get(0).toString().startsWith("ckpt-000000000004.bin ("), u.skipped().get(0).toString());
    assertTrue(u.skipped().get(0).toString().endsWith("moved aside to ckpt-000000000004.bin.damaged"));
  }

  @Test
  void aMissingCrcSidecarAloneIsNoDamageButWithAFlippedByteTheStoresOwnChecksumCatchesIt() throws IOException {
    CheckpointStore store = threeRounds("crc");
    Files.delete(sidecar(file(store, 3)));
    CheckpointStore.Usable u = store.latestUsable(c -> null);
    assertEquals(3, u.checkpoint().orElseThrow().round());
    assertTrue(u.skipped().isEmpty());

    flipByte(file(store, 3), 60);
    u = store.latestUsable(c -> null);
    assertEquals(2, u.checkpoint().orElseThrow().round());
    assertTrue(u.skipped().get(0).reason().startsWith("bad checksum: expected "), u.skipped().get(0).reason());
  }

  @Test
  void aCheckpointOfAnotherNetworkIsSkippedAsMismatched() throws IOException {
    CheckpointStore store = threeRounds("net");
    CheckpointStore.Usable u = store.latestUsable(c -> c.round() == 3
        ? CheckpointStore.Problem.mismatch("another network: 4-8 relu-2 softmax") : null);
    assertEquals(2, u.checkpoint().orElseThrow().round());
    assertEquals("another network: 4-8 relu-2 softmax", u.skipped().get(0).reason());
    assertTrue(files(tmp.resolve("net")).contains("ckpt-000000000003.bin.mismatched"));
  }

  @Test
  void withNoUsableCheckpointNothingIsMovedAndEveryProblemIsListed() throws IOException {
    CheckpointStore store = threeRounds("none");
    for (long r = 1; r <= 3; r++) flipByte(file(store, r), 60);
    CheckpointStore.Usable u = store.latestUsable(c -> null);
    assertTrue(u.checkpoint().isEmpty());
    assertEquals(List.of(3L, 2L, 1L), u.skipped().stream().map(s -> Long.parseLong(s.path().getName()
        .replaceAll("\\D", ""))).collect(Collectors.toList()));
    assertEquals(List.of(1L, 2L, 3L), store.rounds(), "nothing moved");
    assertTrue(u.skipped().stream().allMatch(s -> s.movedTo() == null));
    // An empty directory is a fresh start, not an error.
    assertTrue(store(tmp.resolve("empty"), 3).latestUsable(c -> null).checkpoint().isEmpty());
  }

  /**
   * Makes {@code dir} unwritable even for root (chattr +i on ext4 and the like; chmod otherwise);
   * returns false when neither works here.
   */
  static boolean makeReadOnly(Path dir) throws IOException, InterruptedException {
    try {
      Process p = new ProcessBuilder("chattr", "+i", dir.toString()).redirectErrorStream(true).start();
      p.getInputStream().readAllBytes();
      p.waitFor();
    } catch (IOException e) {
      // no chattr: try permissions
    }
    dir.toFile().setWritable(false, false);
    Path probe = dir.resolve("probe");
    try {
      Files.write(probe, new byte[1]);
      Files.delete(probe);
      return false;
    } catch (IOException expected) {
      return true;
    }
  }

  static void makeWritable(Path dir) throws IOException, InterruptedException {
    try {
      new ProcessBuilder("chattr", "-i", dir.toString()).redirectErrorStream(true).start().waitFor();
    } catch (IOException e) {
      // no chattr
    }
    dir.toFile().setWritable(true, false);
  }

  @Test
  void aSaveIntoADirectoryThatCannotBeWrittenFailsClearlyAndKeepsTheEarlierCheckpoints() throws Exception {
    CheckpointStore store = threeRounds("ro");
    Path dir = tmp.resolve("ro");
    byte[] before = Files.readAllBytes(file(store, 3));
    assumeTrue(makeReadOnly(dir), "cannot make a read-only directory here");
    try {
      IOException e = assertThrows(IOException.class, () -> store.save(simple(4)));
      assertTrue(e.getMessage().startsWith("checkpoint save failed: could not write " + store.pathFor(4)),
          e.getMessage());
      assertEquals(List.of(1L, 2L, 3L), store.rounds());
      assertArrayEquals(before, Files.readAllBytes(file(store, 3)));
      assertEquals(3, store.latest().orElseThrow().round());
      assertFalse(files(dir).stream().anyMatch(n -> n.contains("_tmp-")), "temporary left behind: " + files(dir));
    } finally {
      makeWritable(dir);
    }
  }

  @Test
  void loadOfAMissingRoundNamesThePath() throws IOException {
    CheckpointStore store = store(tmp.resolve("none"), 2);
    FileNotFoundException e = assertThrows(FileNotFoundException.class, () -> store.load(5));
    assertTrue(e.getMessage().contains("ckpt-000000000005.bin"), e.getMessage());
  }

  @Test
  void failedSaveIntoAFileLeavesNothing() throws IOException {
    // The checkpoint "directory" is an existing regular file (robust even as root).
    Path notADir = tmp.resolve("plain");
    Files.write(notADir, new byte[] {7});
    CheckpointStore store = store(notADir, 2);
    IOException e = assertThrows(IOException.class, () -> store.save(simple(3)));
    assertTrue(e.getMessage().contains("plain/ckpt-000000000003.bin"), e.getMessage());
    assertEquals(List.of("plain"), files(tmp));
    assertArrayEquals(new byte[] {7}, Files.readAllBytes(notADir));
  }

  @Test
  void failedSaveAfterWritingDeletesTheTemporary() throws IOException {
    Path dir = tmp.resolve("r");
    CheckpointStore store = store(dir, 5);
    store.save(simple(1));
    // The target of round 2 is a non-empty directory: the temporary is written, then
    // the save fails before the rename.
    Files.createDirectories(dir.resolve("ckpt-000000000002.bin").resolve("x"));
    IOException e = assertThrows(IOException.class, () -> store.save(simple(2)));
    assertTrue(e.getMessage().contains("r/ckpt-000000000002.bin"), e.getMessage());
    try (Stream<Path> s = Files.list(dir)) {
      assertFalse(s.anyMatch(p -> p.getFileName().toString().contains("_tmp-")), "temporary left behind");
    }
    assertTrue(Files.isDirectory(dir.resolve("ckpt-000000000002.bin").resolve("x")));
    assertEquals(List.of(1L), store.rounds());
    assertEquals(1, store.latest().orElseThrow().round());
  }

  @Test
  void validatesDirAndKeep() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new CheckpointStore(tmp.toUri().toString(), CONF, 0));
    assertEquals("checkpoint.keep: expected >= 1, found 0", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new CheckpointStore("", CONF, 3));
    assertEquals("checkpoint.dir: expected a non-empty path, found \"\"", e.getMessage());
    e = assertThrows(IllegalArgumentException.class, () -> new CheckpointStore(null, CONF, 3));
    assertEquals("checkpoint.dir: expected a non-empty path, found null", e.getMessage());
  }
}
