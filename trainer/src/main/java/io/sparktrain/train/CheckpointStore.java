package io.sparktrain.train;

import io.sparktrain.optim.OptimizerState;
import io.sparktrain.util.AtomicFiles;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileNotFoundException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.ChecksumException;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checkpoints in one directory of a Hadoop {@link FileSystem} (file:, hdfs:, s3a:, ...), one file
 * per round: {@code ckpt-%012d.bin}.
 *
 * <p>{@link #save} writes through {@link AtomicFiles} ({@code _tmp-ckpt-%012d.bin-<uuid>} in the
 * same directory, hsync where the stream supports it, close, rename), so a reader never sees a
 * half-written {@code ckpt-} file, and a failed save (a full disk, a directory that cannot be
 * written) leaves the earlier checkpoints as they were. An existing checkpoint of the same round is
 * deleted just before the rename and so replaced. Then the oldest checkpoints beyond {@code keep}
 * are deleted, never the one just saved. Temporaries (names starting with {@code _}) are ignored by
 * {@link #rounds()} and {@link #latest()} and left in place, since another writer may own them.
 *
 * <p>File format (big-endian, {@link DataOutputStream}), version {@value #FORMAT_VERSION}:
 * <pre>
 *   8 bytes   magic "SPTRCKPT"
 *   int       format version
 *   long      body length in bytes
 *   body:
 *     long round, int epoch, long roundInEpoch, long seed, long createdMillis
 *     floats    params            (int n, then n raw IEEE-754 bit patterns)
 *     byte      1 if bestParams follow (floats), else 0
 *     byte      1 if an optimizer state follows, else 0; then long steps, int slot count, floats per slot
 *     string    configJson        (int n, then n bytes of UTF-8)
 *     int       extras count, then string key, string value for each
 *   int       CRC32 of every byte before it
 * </pre>
 * {@link #load} checks magic, version, file length (truncation), structure and CRC, and fails with
 * an {@link IOException} naming the file and what was expected versus found. Floats are stored as
 * raw bit patterns, so values (NaN payloads included) come back bit-exact.
 *
 * <p>Per-round state written by others (a federated run's silos write their error-feedback
 * residuals from the executors) lives next to the checkpoints in {@link #stateDir}
 * ({@code silo-state/round-%012d/}); a checkpoint that uses it records so itself. Such a directory is
 * written before its round's checkpoint file, and {@link #save} deletes every state directory whose
 * round has no checkpoint file after pruning (those of dropped checkpoints, and leftovers of a crash
 * between the two writes), so the state directories follow the newest {@code keep} checkpoints.
 *
 * <p>Not safe for concurrent savers of the same directory.
 */
public final class CheckpointStore {
  private static final Logger LOG = LoggerFactory.getLogger(CheckpointStore.class);

  /** The format version this class writes and reads. */
  public static final int FORMAT_VERSION = 1;

  static final byte[] MAGIC = "SPTRCKPT".getBytes(StandardCharsets.US_ASCII);
  static final String TMP_PREFIX = AtomicFiles.TMP_PREFIX;
  private static final Pattern NAME = Pattern.compile("ckpt-(\\d+)\\.bin");
  /** The directory (under the checkpoint directory) of per-round state written by others. */
  public static final String STATE_DIR = "silo-state";
  private static final Pattern STATE_NAME = Pattern.compile("round-(\\d+)");
  /** Magic, version, body length. */
  private static final int HEADER_BYTES = 8 + 4 + 8;
  private static final int CRC_BYTES = 4;
  private static final int CHUNK = 1 << 16;

  private final Path dir;
  private final FileSystem fs;
  private final int keep;

  /**
   * @param dir the checkpoint directory as a Hadoop path or URI; created on the first save
   * @param conf the Hadoop configuration that resolves the file system
   * @param keep how many checkpoints to keep (>= 1)
   * @throws IllegalArgumentException on an empty {@code dir} or {@code keep < 1}
   * @throws IOException when the file system for {@code dir} cannot be resolved
   */
  public CheckpointStore(String dir, Configuration conf, int keep) throws IOException {
    if (dir == null || dir.trim().isEmpty()) {
      throw new IllegalArgumentException("checkpoint.dir: expected a non-empty path, found "
          + (dir == null ? "null" : "\"" + dir + "\""));
    }
    if (keep < 1) {
      throw new IllegalArgumentException("checkpoint.keep: expected >= 1, found " + keep);
    }
    if (conf == null) {
      throw new IllegalArgumentException("checkpoint store: expected a Hadoop Configuration, found null");
    }
    Path p = new Path(dir);
    this.fs = p.getFileSystem(conf);
    this.dir = fs.makeQualified(p);
    this.keep = keep;
  }

  /** The qualified directory. */
  public Path dir() {
    return dir;
  }

  public int keep() {
    return keep;
  }

  /** The final path of the checkpoint of {@code round}. */
  public Path pathFor(long round) {
    return new Path(dir, fileName(round));
  }

  static String fileName(long round) {
    return String.format("ckpt-%012d.bin", round);
  }

  /**
   * The directory of round {@code round}'s per-round state, relative to {@link #dir()}:
   * {@code silo-state/round-%012d}. A checkpoint records this name (not the absolute path), so a
   * checkpoint directory can be moved or copied whole.
   */
  public static String stateDirName(long round) {
    return STATE_DIR + "/" + String.format("round-%012d", round);
  }

  /** The qualified directory of round {@code round}'s per-round state ({@link #stateDirName}). */
  public Path stateDir(long round) {
    return new Path(dir, stateDirName(round));
  }

  /** The file system of {@link #dir()}. */
  public FileSystem fileSystem() {
    return fs;
  }

  /**
   * Deletes round {@code round}'s checkpoint file, then its state directory, when they exist: called
   * before that round's state is written anew, so no checkpoint ever points at state that is being
   * replaced (a crash in between leaves no checkpoint of this round, not a mixed one).
   */
  public void discardRound(long round) throws IOException {
    Path c = pathFor(round);
    if (fs.exists(c) && !fs.delete(c, false)) {
      throw new IOException("could not delete " + c + " before writing round " + round + " again");
    }
    Path s = stateDir(round);
    if (fs.exists(s) && !fs.delete(s, true)) {
      throw new IOException("could not delete " + s + " before writing round " + round + " again");
    }
  }

  /**
   * Writes {@code c} atomically (temporary file, then rename) as the checkpoint of
   * {@code c.round()}, then prunes to the newest {@code keep}. On failure the temporary is deleted
   * and an IOException naming the final path is thrown; no {@code ckpt-} file is half-written.
   */
  public void save(Checkpoint c) throws IOException {
    Path target = pathFor(c.round());
    try {
      if (fs.exists(target) && !fs.getFileStatus(target).isFile()) {
        throw new IOException("could not write " + target + ": expected the target to be a file, found a directory");
      }
      AtomicFiles.write(fs, target, out -> write(c, out));
    } catch (IOException | RuntimeException e) {
      throw new IOException("checkpoint save failed: " + e.getMessage(), e);
    }
    prune(c.round());
  }

  private static void write(Checkpoint c, OutputStream raw) throws IOException {
    byte[] config = c.configJson().getBytes(StandardCharsets.UTF_8);
    List<byte[]> extras = new ArrayList<>();
    for (Map.Entry<String, String> e : c.extras().entrySet()) {
      extras.add(e.getKey().getBytes(StandardCharsets.UTF_8));
      extras.add(e.getValue().getBytes(StandardCharsets.UTF_8));
    }
    float[] params = c.params();
    float[] best = c.bestParams();
    OptimizerState opt = c.optimizerState();

    long body = 8 + 4 + 8 + 8 + 8;
    body += floatsBytes(params.length);
    body += 1 + (best == null ? 0 : floatsBytes(best.length));
    body += 1;
    if (opt != null) {
      body += 8 + 4;
      for (int i = 0; i < opt.slotCount(); i++) body += floatsBytes(opt.slot(i).length);
    }
    body += 4 + config.length;
    body += 4;
    for (byte[] b : extras) body += 4 + b.length;
    long total = HEADER_BYTES + body + CRC_BYTES;

    CRC32 crc = new CRC32();
    DataOutputStream out = new DataOutputStream(new CheckedOutputStream(new BufferedOutputStream(raw, CHUNK), crc));
    out.write(MAGIC);
    out.writeInt(FORMAT_VERSION);
    out.writeLong(body);
    out.writeLong(c.round());
    out.writeInt(c.epoch());
    out.writeLong(c.roundInEpoch());
    out.writeLong(c.seed());
    out.writeLong(c.createdMillis());
    writeFloats(out, params);
    out.writeByte(best == null ? 0 : 1);
    if (best != null) writeFloats(out, best);
    out.writeByte(opt == null ? 0 : 1);
    if (opt != null) {
      out.writeLong(opt.steps());
      out.writeInt(opt.slotCount());
      for (int i = 0; i < opt.slotCount(); i++) writeFloats(out, opt.slot(i));
    }
    writeBytes(out, config);
    out.writeInt(extras.size() / 2);
    for (byte[] b : extras) writeBytes(out, b);
    out.writeInt((int) crc.getValue());
    out.flush(); // the caller syncs and closes the underlying stream
    if (total < Integer.MAX_VALUE && out.size() != total) {
      throw new IOException("internal error: wrote " + out.size() + " bytes, expected " + total);
    }
  }

  private static long floatsBytes(int n) {
    return 4 + 4L * n;
  }

  private static void writeBytes(DataOutputStream out, byte[] b) throws IOException {
    out.writeInt(b.length);
    out.write(b);
  }

  private static void writeFloats(DataOutputStream out, float[] v) throws IOException {
    out.writeInt(v.length);
    byte[] buf = new byte[Math.min(CHUNK, 4 * v.length)];
    int i = 0;
    while (i < v.length) {
      int n = Math.min(buf.length / 4, v.length - i);
      for (int k = 0, o = 0; k < n; k++, o += 4) {
        int bits = Float.floatToRawIntBits(v[i + k]);
        buf[o] = (byte) (bits >>> 24);
        buf[o + 1] = (byte) (bits >>> 16);
        buf[o + 2] = (byte) (bits >>> 8);
        buf[o + 3] = (byte) bits;
      }
      out.write(buf, 0, 4 * n);
      i += n;
    }
  }

  /** Deletes the oldest checkpoints beyond {@code keep}, never {@code justSaved}; logs failures. */
  private void prune(long justSaved) {
    try {
      List<Long> rounds = rounds();
      int excess = rounds.size() - keep;
      for (int i = 0; i < rounds.size() && excess > 0; i++) {
        long r = rounds.get(i);
        if (r == justSaved) continue;
        Path p = pathFor(r);
        if (!fs.delete(p, false)) {
          LOG.warn("checkpoint prune: could not delete {}", p);
        }
        excess--;
      }
      pruneState(rounds());
    } catch (IOException | RuntimeException e) {
      LOG.warn("checkpoint prune failed in {}", dir, e);
    }
  }

  /** Deletes the state directories of rounds without a checkpoint file; logs failures. */
  private void pruneState(List<Long> kept) throws IOException {
    Path states = new Path(dir, STATE_DIR);
    FileStatus[] st;
    try {
      st = fs.listStatus(states);
    } catch (FileNotFoundException e) {
      return;
    }
    for (FileStatus s : st) {
      Matcher m = STATE_NAME.matcher(s.getPath().getName());
      if (!s.isDirectory() || !m.matches()) continue;
      long r;
      try {
        r = Long.parseLong(m.group(1));
      } catch (NumberFormatException e) {
        continue;
      }
      if (!kept.contains(r) && !fs.delete(s.getPath(), true)) {
        LOG.warn("checkpoint prune: could not delete {}", s.getPath());
      }
    }
  }

  /** Rounds that have a checkpoint file, ascending; empty when the directory does not exist. */
  public List<Long> rounds() throws IOException {
    FileStatus[] st;
    try {
      st = fs.listStatus(dir);
    } catch (FileNotFoundException e) {
      return Collections.emptyList();
    }
    List<Long> out = new ArrayList<>();
    for (FileStatus s : st) {
      if (!s.isFile()) continue;
      Matcher m = NAME.matcher(s.getPath().getName());
      if (!m.matches()) continue;
      try {
        out.add(Long.parseLong(m.group(1)));
      } catch (NumberFormatException e) {
        // too many digits for a long: not ours
      }
    }
    Collections.sort(out);
    return out;
  }

  /**
   * The checkpoint with the highest round, or empty when there is none. A damaged latest file
   * fails (it does not fall back to an older one); resuming uses {@link #latestUsable}.
   */
  public Optional<Checkpoint> latest() throws IOException {
    List<Long> r = rounds();
    return r.isEmpty() ? Optional.empty() : Optional.of(load(r.get(r.size() - 1)));
  }

  /** A checkpoint file passed over on resume: where it was, where it is now, and why. */
  public record Skipped(Path path, Path movedTo, String reason) {
    @Override
    public String toString() {
      return path.getName() + " (" + reason + ")" + (movedTo == null ? "" : ", moved aside to " + movedTo.getName());
    }
  }

  /** Why a checkpoint that reads cannot resume a run: it does not fit it, or something it needs is damaged. */
  public record Problem(String reason, boolean damaged) {
    /** Another network, silo count, ...: moved aside as {@value CheckpointStore#MISMATCHED}. */
    public static Problem mismatch(String reason) {
      return new Problem(reason, false);
    }

    /** Per-round state it needs is missing or broken: moved aside as {@value CheckpointStore#DAMAGED}. */
    public static Problem damaged(String reason) {
      return new Problem(reason, true);
    }
  }

  /** What {@link #latestUsable} found: the checkpoint to resume from (if any) and the newer ones skipped. */
  public record Usable(Optional<Checkpoint> checkpoint, List<Skipped> skipped) { }

  /** The suffix a checkpoint that does not read gets when moved aside (never deleted). */
  public static final String DAMAGED = ".damaged";
  /** The suffix a checkpoint that reads but does not fit the run gets when moved aside. */
  public static final String MISMATCHED = ".mismatched";

  /**
   * The newest checkpoint that reads, verifies (length, structure, CRC, format version) and fits
   * the run ({@code problem} returns null, or why not: another network, damaged per-round state).
   * Each newer file is skipped with its reason; when an older checkpoint is used, the skipped files
   * (and their rounds' state directories) are moved aside ({@value #DAMAGED} or
   * {@value #MISMATCHED} appended to the name, never deleted) so that the resumed run does not
   * overwrite or prune them. When no checkpoint is usable, nothing is moved and the caller gets
   * every file's problem.
   */
  public Usable latestUsable(Function<Checkpoint, Problem> problem) throws IOException {
    List<Long> rounds = new ArrayList<>(rounds());
    Collections.reverse(rounds);
    List<Path> paths = new ArrayList<>();
    List<Problem> problems = new ArrayList<>();
    for (long r : rounds) {
      Path p = pathFor(r);
      Checkpoint c;
      try {
        c = load(r);
      } catch (IOException | RuntimeException e) {
        paths.add(p);
        problems.add(Problem.damaged(withoutPath(e.getMessage(), p)));
        continue;
      }
      Problem why = problem.apply(c);
      if (why != null) {
        paths.add(p);
        problems.add(why);
        continue;
      }
      return new Usable(Optional.of(c), skipped(paths, problems, true));
    }
    return new Usable(Optional.empty(), skipped(paths, problems, false));
  }

  /** The skipped files and why; moved aside first ({@value #DAMAGED} or {@value #MISMATCHED}) when {@code move}. */
  private List<Skipped> skipped(List<Path> paths, List<Problem> problems, boolean move) throws IOException {
    List<Skipped> out = new ArrayList<>();
    for (int i = 0; i < paths.size(); i++) {
      Problem why = problems.get(i);
      Path to = move ? moveAside(paths.get(i), why.damaged() ? DAMAGED : MISMATCHED) : null;
      out.add(new Skipped(paths.get(i), to, why.reason()));
    }
    return out;
  }

  /**
   * Moves round {@code round}'s checkpoint (and its state directory) aside with {@code suffix}
   * ({@link #DAMAGED} or {@link #MISMATCHED}); never deletes. Returns where the file went.
   */
  public Path moveAside(long round, String suffix) throws IOException {
    return moveAside(pathFor(round), suffix);
  }

  /** Renames {@code p} to {@code p + suffix} (or {@code p + suffix + "-2"}, ...); returns the new path. */
  private Path moveAside(Path p, String suffix) throws IOException {
    Path to = new Path(p.getParent(), p.getName() + suffix);
    for (int i = 2; fs.exists(to); i++) {
      to = new Path(p.getParent(), p.getName() + suffix + "-" + i);
    }
    if (!fs.rename(p, to)) {
      throw new IOException("could not move the unusable checkpoint " + p + " aside to " + to);
    }
    // Its round's per-round state goes aside with it: the resumed run would replace or prune it.
    Matcher m = NAME.matcher(p.getName());
    if (m.matches()) {
      Path state = stateDir(Long.parseLong(m.group(1)));
      if (fs.exists(state)) {
        Path stateTo = new Path(state.getParent(), state.getName() + suffix);
        for (int i = 2; fs.exists(stateTo); i++) {
          stateTo = new Path(state.getParent(), state.getName() + suffix + "-" + i);
        }
        if (!fs.rename(state, stateTo)) {
          throw new IOException("could not move " + state + " aside to " + stateTo);
        }
      }
    }
    return to;
  }

  /** A load error's message without the leading path (the caller names the file). */
  private static String withoutPath(String message, Path p) {
    if (message == null) {
      return "unreadable";
    }
    String m = message;
    for (String prefix : new String[] {p.toString() + ": ", p.toUri().getPath() + ": "}) {
      if (m.startsWith(prefix)) {
        m = m.substring(prefix.length());
      }
    }
    return m.split("\n", 2)[0];
  }

  /** Loads and verifies the checkpoint of {@code round}. */
  public Checkpoint load(long round) throws IOException {
    Path p = pathFor(round);
    FileStatus st;
    try {
      st = fs.getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw new FileNotFoundException(p + ": no checkpoint for round " + round);
    }
    if (!st.isFile()) {
      throw new IOException(p + ": expected a checkpoint file, found a directory");
    }
    long len = st.getLen();
    try (InputStream raw = new BufferedInputStream(fs.open(p), CHUNK)) {
      return read(p, raw, len);
    } catch (ChecksumException e) {
      // A file system with its own checksums (file: keeps .crc files, hdfs: block checksums).
      throw new IOException(p + ": bad checksum reported by the file system: " + e.getMessage(), e);
    }
  }

  /** Thrown inside {@link #read} on a structural problem, before the checksum is known. */
  private static final class Corrupt extends Exception {
    private static final long serialVersionUID = 1L;

    Corrupt(String message) {
      super(message, null, false, false);
    }
  }

  private static Checkpoint read(Path p, InputStream raw, long len) throws IOException {
    if (len < HEADER_BYTES + CRC_BYTES) {
      throw new IOException(p + ": truncated: expected at least " + (HEADER_BYTES + CRC_BYTES)
          + " bytes, found " + len);
    }
    CRC32 crc = new CRC32();
    Counting counted = new Counting(new CheckedInputStream(raw, crc));
    DataInputStream in = new DataInputStream(counted);
    byte[] magic = new byte[MAGIC.length];
    in.readFully(magic);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new IOException(p + ": bad magic: expected \"SPTRCKPT\", found " + describe(magic)
          + " (not a sparktrain checkpoint)");
    }
    int version = in.readInt();
    if (version != FORMAT_VERSION) {
      throw new IOException(p + ": unsupported format version: expected " + FORMAT_VERSION
          + ", found " + version);
    }
    long body = in.readLong();
    long expected = body < 0 || body > Long.MAX_VALUE / 2 ? -1 : HEADER_BYTES + body + CRC_BYTES;
    if (expected < 0) {
      // The length itself is damaged; the checksum tells.
      drainAndCheck(p, counted, raw, crc, len - CRC_BYTES);
      throw new IOException(p + ": corrupt: body length " + body);
    }
    if (len < expected) {
      throw new IOException(p + ": truncated: expected " + expected + " bytes, found " + len);
    }
    if (len > expected) {
      throw new IOException(p + ": trailing data: expected " + expected + " bytes, found " + len);
    }
    long bodyEnd = HEADER_BYTES + body;
    Checkpoint c;
    try {
      c = readBody(in, counted, bodyEnd);
    } catch (Corrupt | EOFException | IllegalArgumentException e) {
      drainAndCheck(p, counted, raw, crc, bodyEnd);
      throw new IOException(p + ": corrupt: " + e.getMessage(), e);
    }
    if (counted.count != bodyEnd) {
      drainAndCheck(p, counted, raw, crc, bodyEnd);
      throw new IOException(p + ": corrupt: body ends at byte " + counted.count + ", expected "
          + bodyEnd);
    }
    long found = crc.getValue();
    long stored = new DataInputStream(raw).readInt() & 0xffffffffL;
    if (stored != found) {
      throw new IOException(p + ": bad checksum: expected " + stored + ", found " + found);
    }
    return c;
  }

  /**
   * After a structural error: feeds the rest of the checksummed region through the CRC and throws
   * "bad checksum" when it does not match; returns when it does (the caller reports the structural
   * error).
   */
  private static void drainAndCheck(Path p, Counting counted, InputStream raw, CRC32 crc, long end)
      throws IOException {
    byte[] buf = new byte[CHUNK];
    while (counted.count < end) {
      int n = counted.read(buf, 0, (int) Math.min(buf.length, end - counted.count));
      if (n < 0) {
        throw new IOException(p + ": truncated: expected " + (end + CRC_BYTES) + " bytes, found "
            + counted.count);
      }
    }
    long found = crc.getValue();
    long stored;
    try {
      stored = new DataInputStream(raw).readInt() & 0xffffffffL;
    } catch (EOFException e) {
      throw new IOException(p + ": truncated: no checksum after byte " + end, e);
    }
    if (stored != found) {
      throw new IOException(p + ": bad checksum: expected " + stored + ", found " + found);
    }
  }

  private static Checkpoint readBody(DataInputStream in, Counting counted, long bodyEnd)
      throws IOException, Corrupt {
    long round = in.readLong();
    int epoch = in.readInt();
    long roundInEpoch = in.readLong();
    long seed = in.readLong();
    long created = in.readLong();
    float[] params = readFloats(in, counted, bodyEnd, "params");
    float[] best = flag(in, "bestParams") ? readFloats(in, counted, bodyEnd, "bestParams") : null;
    OptimizerState opt = null;
    if (flag(in, "optimizer state")) {
      long steps = in.readLong();
      int slots = in.readInt();
      if (slots < 0 || 4L * slots > bodyEnd - counted.count) {
        throw new Corrupt("optimizer slot count " + slots);
      }
      float[][] s = new float[slots][];
      for (int i = 0; i < slots; i++) s[i] = readFloats(in, counted, bodyEnd, "optimizer slot " + i);
      opt = new OptimizerState(steps, s);
    }
    String config = readString(in, counted, bodyEnd, "configJson");
    int n = in.readInt();
    if (n < 0 || 8L * n > bodyEnd - counted.count) {
      throw new Corrupt("extras count " + n);
    }
    Map<String, String> extras = new LinkedHashMap<>();
    for (int i = 0; i < n; i++) {
      String k = readString(in, counted, bodyEnd, "extras key");
      extras.put(k, readString(in, counted, bodyEnd, "extras value"));
    }
    return new Checkpoint(round, epoch, roundInEpoch, seed, params, best, opt, config, extras, created);
  }

  private static boolean flag(DataInputStream in, String what) throws IOException, Corrupt {
    int b = in.readUnsignedByte();
    if (b > 1) {
      throw new Corrupt(what + " flag: expected 0 or 1, found " + b);
    }
    return b == 1;
  }

  private static String readString(DataInputStream in, Counting counted, long bodyEnd, String what)
      throws IOException, Corrupt {
    int n = in.readInt();
    if (n < 0 || n > bodyEnd - counted.count) {
      throw new Corrupt(what + " length " + n + " with " + (bodyEnd - counted.count) + " bytes left");
    }
    byte[] b = new byte[n];
    in.readFully(b);
    return new String(b, StandardCharsets.UTF_8);
  }

  private static float[] readFloats(DataInputStream in, Counting counted, long bodyEnd, String what)
      throws IOException, Corrupt {
    int n = in.readInt();
    if (n < 0 || 4L * n > bodyEnd - counted.count) {
      throw new Corrupt(what + " length " + n + " with " + (bodyEnd - counted.count) + " bytes left");
    }
    float[] v = new float[n];
    byte[] buf = new byte[Math.min(CHUNK, 4 * n)];
    int i = 0;
    while (i < n) {
      int m = Math.min(buf.length / 4, n - i);
      in.readFully(buf, 0, 4 * m);
      for (int k = 0, o = 0; k < m; k++, o += 4) {
        int bits = (buf[o] & 0xff) << 24 | (buf[o + 1] & 0xff) << 16 | (buf[o + 2] & 0xff) << 8
            | (buf[o + 3] & 0xff);
        v[i + k] = Float.intBitsToFloat(bits);
      }
      i += m;
    }
    return v;
  }

  private static String describe(byte[] b) {
    StringBuilder s = new StringBuilder("0x");
    for (byte x : b) s.append(String.format("%02x", x & 0xff));
    return s.toString();
  }

  /** Counts the bytes delivered (those the checksum has seen). */
  private static final class Counting extends FilterInputStream {
    long count;

    Counting(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b = super.read();
      if (b >= 0) count++;
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n = super.read(b, off, len);
      if (n > 0) count += n;
      return n;
    }

    @Override
    public long skip(long n) {
      throw new UnsupportedOperationException("skip would bypass the checksum");
    }
  }
}
