package io.sparktrain.federated;

import io.sparktrain.util.AtomicFiles;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.zip.CRC32;
import org.apache.hadoop.fs.FileStatus;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * One silo's error-feedback residual in a federated checkpoint: {@code silo-%05d.bin} in the
 * round's state directory ({@code <checkpoint.dir>/silo-state/round-%012d/}), written and read by
 * the silo's own task on an executor through the Hadoop {@link FileSystem} API; the driver only
 * names the directory.
 *
 * <p>Which silos have a file is said by the directory's manifest {@value #MANIFEST}, written by the
 * driver after the silos' files (the driver knows which silos were ever sampled; it never sees a
 * residual): a silo that was never sampled has no residual and no file, so a checkpoint of 10,000
 * silos of which a few hundred were sampled writes a few hundred files. A listed file that is
 * missing is always an error. A directory without a manifest (written before the manifest existed)
 * has a file for every silo, one without a residual saying so, and is read as such. A file is
 * written through {@link AtomicFiles} (a temporary in the same directory, hsync where supported,
 * close, rename); an existing file of the same name (a retried task's) is replaced.
 *
 * <p>Format (big-endian), version {@value #VERSION}:
 * <pre>
 *   8 bytes  magic "SPTRSILO"
 *   int      format version
 *   long     round
 *   int      silo
 *   byte     1 if a residual follows, 0 if the silo has none (zeros)
 *   int      n, then n raw IEEE-754 bit patterns (n = 0 without a residual)
 *   int      CRC32 of every byte before it
 * </pre>
 * Reading checks the exact file length, the CRC, magic, version, round, silo and n against what the
 * run expects, and fails with a {@link Corrupt} naming the silo, the round, the path, what was
 * expected and what was found.
 */
final class ResidualFiles {
  static final int VERSION = 1;
  private static final byte[] MAGIC = "SPTRSILO".getBytes(StandardCharsets.US_ASCII);
  /** Magic, version, round, silo, flag, n. */
  private static final int HEADER = 8 + 4 + 8 + 4 + 1 + 4;
  private static final int CRC = 4;

  private ResidualFiles() {
  }

  /** A silo's residual file is missing, damaged or not the one expected. */
  static final class Corrupt extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    Corrupt(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /** The manifest: which silos of the directory have a residual file. */
  static final String MANIFEST = "silos-with-residuals.bin";
  private static final byte[] MANIFEST_MAGIC = "SPTRSLST".getBytes(StandardCharsets.US_ASCII);

  /**
   * Writes the manifest of {@code dir}: of {@code silos} silos, those in {@code withResidual}
   * (increasing) have a file. Format (big-endian): magic "SPTRSLST", int version, long round, int
   * silos, int count, count ints, int CRC32 of every byte before it. Atomic.
   */
  static void writeManifest(FileSystem fs, String dir, long round, int silos, int[] withResidual)
      throws IOException {
    ByteBuffer b = ByteBuffer.allocate(8 + 4 + 8 + 4 + 4 + 4 * withResidual.length + CRC);
    b.put(MANIFEST_MAGIC).putInt(VERSION).putLong(round).putInt(silos).putInt(withResidual.length);
    for (int s : withResidual) b.putInt(s);
    CRC32 crc = new CRC32();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    AtomicFiles.write(fs, new Path(dir, MANIFEST), b.array());
  }

  /**
   * The silos with a residual file in {@code dir} (increasing), from its manifest; null when the
   * directory has no manifest (every silo has a file). A damaged manifest, or one of another round or
   * silo count, is a {@link Corrupt} naming the path, the expected and the found value.
   */
  static int[] readManifest(FileSystem fs, String dir, long round, int silos) {
    Path p = new Path(dir, MANIFEST);
    String where = "checkpoint.resume: the error-feedback manifest of round " + round + " at " + p;
    byte[] bytes;
    try (InputStream in = fs.open(p)) {
      bytes = in.readAllBytes();
    } catch (FileNotFoundException e) {
      return null;
    } catch (IOException e) {
      throw new Corrupt(where + " cannot be read: " + e.getMessage(), e);
    }
    int head = 8 + 4 + 8 + 4 + 4;
    if (bytes.length < head + CRC) {
      throw new Corrupt(where + " is truncated: expected at least " + (head + CRC) + " bytes, found " + bytes.length,
          null);
    }
    ByteBuffer b = checked(bytes, where);
    byte[] magic = new byte[MANIFEST_MAGIC.length];
    b.get(magic);
    int version = b.getInt();
    long r = b.getLong();
    int k = b.getInt();
    int n = b.getInt();
    if (!Arrays.equals(magic, MANIFEST_MAGIC) || version != VERSION) {
      throw new Corrupt(where + " is not a manifest of version " + VERSION + ": found magic \""
          + new String(magic, StandardCharsets.ISO_8859_1) + "\" version " + version, null);
    }
    if (r != round || k != silos || n < 0 || n > silos || bytes.length != head + 4L * n + CRC) {
      throw new Corrupt(where + " does not fit: expected round " + round + " of " + silos + " silos, found round "
          + r + " of " + k + " silos listing " + n + " in " + bytes.length + " bytes", null);
    }
    int[] out = new int[n];
    for (int i = 0; i < n; i++) {
      out[i] = b.getInt();
      if (out[i] < 0 || out[i] >= silos || (i > 0 && out[i] <= out[i - 1])) {
        throw new Corrupt(where + " lists silo " + out[i] + " at position " + i + ": expected increasing silos in [0, "
            + silos + ")", null);
      }
    }
    return out;
  }

  /** The bytes of a file whose last 4 are the CRC32 of the others, checked; a mismatch is {@link Corrupt}. */
  private static ByteBuffer checked(byte[] bytes, String where) {
    CRC32 crc = new CRC32();
    crc.update(bytes, 0, bytes.length - CRC);
    ByteBuffer b = ByteBuffer.wrap(bytes);
    long stored = b.getInt(bytes.length - CRC) & 0xffffffffL;
    if (stored != crc.getValue()) {
      throw new Corrupt(where + " has a bad checksum: expected " + stored + ", found " + crc.getValue(), null);
    }
    return b;
  }

  static String fileName(int silo) {
    return String.format("silo-%05d.bin", silo);
  }

  /** The file of {@code silo} in the state directory {@code dir}. */
  static Path path(String dir, int silo) {
    return new Path(dir, fileName(silo));
  }

  /** Bytes of a file holding {@code n} values (or none: n = 0). */
  static long fileBytes(int n) {
    return HEADER + 4L * n + CRC;
  }

  /** Writes {@code silo}'s residual of {@code round} (null = none) into {@code dir}, atomically. */
  static void write(FileSystem fs, String dir, long round, int silo, float[] residual) throws IOException {
    Path target = path(dir, silo);
    int n = residual == null ? 0 : residual.length;
    ByteBuffer b = ByteBuffer.allocate((int) fileBytes(n));
    b.put(MAGIC).putInt(VERSION).putLong(round).putInt(silo).put((byte) (residual == null ? 0 : 1)).putInt(n);
    for (int i = 0; i < n; i++) b.putInt(Float.floatToRawIntBits(residual[i]));
    CRC32 crc = new CRC32();
    crc.update(b.array(), 0, b.position());
    b.putInt((int) crc.getValue());
    try {
      AtomicFiles.write(fs, target, b.array());
    } catch (IOException e) {
      throw new IOException("federated checkpoint: silo " + silo + " could not write its error-feedback residual"
          + " of round " + round + ": " + e.getMessage(), e);
    }
  }

  /**
   * Why the residual files of {@code silos} silos in {@code dir} cannot be read back, or null: the
   * manifest, if any, and one listing, checking that every listed silo's file (every silo's, without
   * a manifest) is there with a possible length (its bytes are checked when the silo reads it).
   */
  static String check(FileSystem fs, String dir, long round, int silos, int length) {
    int[] listed;
    try {
      listed = readManifest(fs, dir, round, silos);
    } catch (Corrupt e) {
      return e.getMessage();
    }
    Map<String, Long> lengths = new HashMap<>();
    try {
      for (FileStatus st : fs.listStatus(new Path(dir))) {
        lengths.put(st.getPath().getName(), st.getLen());
      }
    } catch (FileNotFoundException e) {
      return "the silos' error-feedback residuals are missing (" + dir + ")";
    } catch (IOException e) {
      return "the silos' error-feedback residuals cannot be listed: " + e.getMessage();
    }
    int n = listed == null ? silos : listed.length;
    for (int i = 0; i < n; i++) {
      int silo = listed == null ? i : listed[i];
      Long len = lengths.get(fileName(silo));
      if (len == null) {
        return "silo " + silo + "'s error-feedback residual " + fileName(silo) + " is missing" + (listed != null
            ? " (listed by the manifest)" : " (the directory has no manifest " + MANIFEST + ", so every silo needs a"
            + " file, as written before manifests existed)");
      }
      if (len != fileBytes(length) && len != fileBytes(0)) {
        return "silo " + silo + "'s error-feedback residual " + fileName(silo) + " has the wrong length: expected "
            + fileBytes(length) + " or " + fileBytes(0) + " bytes, found " + len;
      }
    }
    return null;
  }

  /**
   * Reads {@code silo}'s residual of {@code round} from {@code dir}: null when the silo had none,
   * else {@code length} values.
   */
  static float[] read(FileSystem fs, String dir, long round, int silo, int length) {
    Path p = path(dir, silo);
    String where = "checkpoint.resume: silo " + silo + ": the error-feedback residual of round " + round + " at " + p;
    FileStatus st;
    try {
      st = fs.getFileStatus(p);
    } catch (FileNotFoundException e) {
      throw new Corrupt(where + " is missing (listed by the manifest, or one file per silo without one; written with"
          + " the checkpoint of round " + round + "; was the silo-state directory deleted or not copied?)", e);
    } catch (IOException e) {
      throw new Corrupt(where + " cannot be read: " + e.getMessage(), e);
    }
    long len = st.getLen();
    long full = fileBytes(length);
    long empty = fileBytes(0);
    if (len != full && len != empty) {
      throw new Corrupt(where + " has the wrong length: expected " + full + " bytes (" + length + " values) or "
          + empty + " (no residual), found " + len, null);
    }
    byte[] bytes = new byte[(int) len];
    try (InputStream in = fs.open(p)) {
      int off = 0;
      while (off < bytes.length) {
        int r = in.read(bytes, off, bytes.length - off);
        if (r < 0) {
          throw new Corrupt(where + " is truncated: expected " + len + " bytes, found " + off, null);
        }
        off += r;
      }
    } catch (IOException e) {
      throw new Corrupt(where + " cannot be read: " + e.getMessage(), e);
    }
    ByteBuffer b = checked(bytes, where);
    byte[] magic = new byte[MAGIC.length];
    b.get(magic);
    if (!Arrays.equals(magic, MAGIC)) {
      throw new Corrupt(where + " is not a residual file: expected magic \"SPTRSILO\", found "
          + new String(magic, StandardCharsets.ISO_8859_1), null);
    }
    int version = b.getInt();
    if (version != VERSION) {
      throw new Corrupt(where + ": unsupported format version: expected " + VERSION + ", found " + version, null);
    }
    long r = b.getLong();
    int s = b.getInt();
    if (r != round || s != silo) {
      throw new Corrupt(where + " belongs elsewhere: expected round " + round + " silo " + silo + ", found round " + r
          + " silo " + s, null);
    }
    int flag = b.get();
    int n = b.getInt();
    if (!(flag == 0 && n == 0 && len == empty || flag == 1 && n == length && len == full)) {
      throw new Corrupt(where + " has the wrong shape: expected no residual or " + length + " values, found flag "
          + flag + " with " + n + " values in " + len + " bytes", null);
    }
    if (flag == 0) {
      return null;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) v[i] = Float.intBitsToFloat(b.getInt());
    return v;
  }
}
