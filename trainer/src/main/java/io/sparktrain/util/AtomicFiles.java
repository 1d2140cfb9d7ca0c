package io.sparktrain.util;

import java.io.IOException;
import java.io.OutputStream;
import java.util.UUID;
import org.apache.hadoop.fs.FSDataOutputStream;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;
import org.apache.hadoop.fs.StreamCapabilities;

/**
 * The one way this project writes a file that someone may read while it is being written, or that
 * must survive a crash whole: a temporary file beside the target ({@value #TMP_PREFIX}name-uuid,
 * which Hadoop input listings and the checkpoint store ignore), flushed to the device where the
 * stream can ({@code hsync}), closed, then renamed over the target. A failure at any point (a full
 * disk, a directory that cannot be written) deletes the temporary and throws an {@link IOException}
 * that names the target and the cause; the target is what it was before unless the rename happened.
 * On object stores, where a rename is a copy, the final object appears whole.
 */
public final class AtomicFiles {
  /** The prefix of temporaries: hidden from Hadoop input listings and from checkpoint listings. */
  public static final String TMP_PREFIX = "_tmp-";

  /** Writes the contents of a file. */
  @FunctionalInterface
  public interface Writer {
    void write(OutputStream out) throws IOException;
  }

  private AtomicFiles() {
  }

  /** Writes {@code bytes} to {@code target} atomically. */
  public static void write(FileSystem fs, Path target, byte[] bytes) throws IOException {
    write(fs, target, out -> out.write(bytes));
  }

  /** Writes what {@code writer} produces to {@code target} atomically; creates the parent directory. */
  public static void write(FileSystem fs, Path target, Writer writer) throws IOException {
    Path parent = target.getParent();
    Path tmp = temporaryFor(target);
    try {
      if (parent != null && !fs.mkdirs(parent)) {
        throw new IOException("could not create directory " + parent);
      }
      FSDataOutputStream out = fs.create(tmp, false);
      try {
        writer.write(out);
        out.flush();
        if (out.hasCapability(StreamCapabilities.HSYNC)) {
          out.hsync();
        }
      } finally {
        out.close();
      }
      replace(fs, tmp, target);
    } catch (IOException | RuntimeException e) {
      deleteQuietly(fs, tmp);
      throw new IOException("could not write " + target + ": " + reason(e), e);
    }
  }

  /** A fresh temporary path beside {@code target}. */
  public static Path temporaryFor(Path target) {
    return new Path(target.getParent(), TMP_PREFIX + target.getName() + "-" + UUID.randomUUID());
  }

  /**
   * Replaces {@code target} (a file or a directory) by {@code tmp}: deletes the old target, then
   * renames. Between the two a reader finds no target, never a partial one.
   */
  public static void replace(FileSystem fs, Path tmp, Path target) throws IOException {
    if (fs.exists(target) && !fs.delete(target, true)) {
      throw new IOException("could not replace the existing " + target);
    }
    if (!fs.rename(tmp, target)) {
      throw new IOException("rename of " + tmp + " to " + target + " failed");
    }
  }

  /** Deletes {@code p} (recursively) if it exists; a failure is ignored (the caller reports its own). */
  public static void deleteQuietly(FileSystem fs, Path p) {
    try {
      fs.delete(p, true);
    } catch (IOException | RuntimeException ignored) {
      // best effort: the write already failed, and that is what gets reported
    }
  }

  /** The innermost message of {@code e}, with its exception's simple name when it has none. */
  static String reason(Throwable e) {
    Throwable t = e;
    while (t.getCause() != null && t.getCause() != t && t.getMessage() == null) {
      t = t.getCause();
    }
    String m = t.getMessage();
    return m == null ? t.getClass().getSimpleName() : m;
  }
}
