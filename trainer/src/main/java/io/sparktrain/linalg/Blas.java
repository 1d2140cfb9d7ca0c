package io.sparktrain.linalg;

import dev.ludovic.netlib.blas.BLAS;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The one facade over dev.ludovic.netlib's BLAS, in row-major terms.
 *
 * <p>netlib speaks Fortran's column-major layout; everything else in sparktrain stores matrices
 * row-major (a mini-batch is rows x features). A row-major matrix is the column-major view of its
 * transpose, so C = op(A) op(B) in row-major is computed as C^T = op(B)^T op(A)^T in column-major:
 * the operands swap and m, n swap. That mapping lives here and nowhere else.
 *
 * <p>The implementation is chosen once per JVM by {@link #get()}: JNIBLAS when the system BLAS
 * ({@code libblas.so.3}) loads, else VectorBLAS (needs {@code --add-modules jdk.incubator.vector}),
 * else Java11BLAS. The choice and the native library are logged once; without native BLAS a
 * warning says how to get it. Tests build the other implementations with {@link #of(Impl)}.
 */
public final class Blas {
  private static final Logger LOG = LoggerFactory.getLogger(Blas.class);

  /** The netlib implementations sparktrain knows. */
  public enum Impl {
    JNI("dev.ludovic.netlib.blas.JNIBLAS"),
    VECTOR("dev.ludovic.netlib.blas.VectorBLAS"),
    JAVA11("dev.ludovic.netlib.blas.Java11BLAS");

    final String className;

    Impl(String className) {
      this.className = className;
    }
  }

  private static volatile Blas instance;

  private final BLAS blas;
  private final Impl impl;
  private final String nativeLibrary;

  private Blas(BLAS blas, Impl impl, String nativeLibrary) {
    this.blas = blas;
    this.impl = impl;
    this.nativeLibrary = nativeLibrary;
  }

  /** The implementation of this JVM, chosen and logged on first use. */
  public static Blas get() {
    Blas b = instance;
    if (b == null) {
      synchronized (Blas.class) {
        b = instance;
        if (b == null) {
          b = choose();
          instance = b;
          b.logChoice();
        }
      }
    }
    return b;
  }

  /** A specific implementation, or an exception saying why it is unavailable here. */
  public static Blas of(Impl impl) {
    BLAS b = load(impl);
    return new Blas(b, impl, impl == Impl.JNI ? findNativeLibrary() : null);
  }

  /** The implementations that load in this JVM, fastest first. */
  public static List<Impl> available() {
    List<Impl> out = new ArrayList<>();
    for (Impl impl : Impl.values()) {
      try {
        load(impl);
        out.add(impl);
      } catch (RuntimeException | LinkageError e) {
        // not available here
      }
    }
    return out;
  }

  private static Blas choose() {
    for (Impl impl : Impl.values()) {
      try {
        return of(impl);
      } catch (RuntimeException | LinkageError e) {
        LOG.debug("BLAS {} unavailable", impl, e);
      }
    }
    throw new IllegalStateException("no BLAS implementation could be loaded");
  }

  private static BLAS load(Impl impl) {
    try {
      Class<?> c = Class.forName(impl.className);
      var m = c.getMethod("getInstance");
      m.setAccessible(true);
      BLAS b = (BLAS) m.invoke(null);
      // VectorBLAS' class loads without the incubator module but then fails on first use.
      float[] r = new float[1];
      b.sgemm("N", "N", 1, 1, 1, 1f, new float[] {2f}, 0, 1, new float[] {3f}, 0, 1, 0f, r, 0, 1);
      if (r[0] != 6f) {
        throw new IllegalStateException(impl + " computed 2*3 = " + r[0]);
      }
      return b;
    } catch (ReflectiveOperationException e) {
      Throwable cause = e.getCause() != null ? e.getCause() : e;
      throw new IllegalStateException("BLAS " + impl + " unavailable: " + cause, cause);
    } catch (AssertionError e) {
      // JNIBLAS' static initialiser asserts that its bundled JNI library exists for this os/arch;
      // with -ea a missing one escapes as an AssertionError, which callers would not catch.
      throw new IllegalStateException("BLAS " + impl + " unavailable: " + e, e);
    }
  }

  /** The shared library behind JNIBLAS, read from this process' memory map (Linux), or null. */
  static String findNativeLibrary() {
    Path maps = Path.of("/proc/self/maps");
    if (!Files.isReadable(maps)) {
      return null;
    }
    try (Stream<String> lines = Files.lines(maps)) {
      return lines.map(l -> l.substring(l.lastIndexOf(' ') + 1))
          .filter(p -> p.contains("blas") && !p.contains("netlibblasjni") && p.contains(".so"))
          .findFirst().orElse(null);
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  private void logChoice() {
    String how = "install OpenBLAS (Debian/Ubuntu: apt-get install libopenblas0-pthread) and set"
        + " OPENBLAS_NUM_THREADS=1 for one BLAS thread per Spark task";
    if (impl == Impl.JNI) {
      LOG.info("sparktrain BLAS: JNIBLAS over {}", nativeLibrary);
      if (isReferenceBlas()) {
        LOG.warn("sparktrain BLAS: " + nativeLibrary + " is the slow reference BLAS; " + how);
      }
    } else {
      LOG.warn("sparktrain BLAS: no native BLAS loaded, using " + blas.getClass().getSimpleName()
          + " (several times slower); " + how
          + (impl == Impl.JAVA11 ? "; or add the JVM option --add-modules jdk.incubator.vector" : ""));
    }
  }

  /** True when the native library is Netlib's reference BLAS (Debian's libblas3). */
  public boolean isReferenceBlas() {
    return nativeLibrary != null && !nativeLibrary.toLowerCase(Locale.ROOT).contains("openblas")
        && !nativeLibrary.toLowerCase(Locale.ROOT).contains("mkl")
        && !nativeLibrary.toLowerCase(Locale.ROOT).contains("blis");
  }

  public Impl impl() {
    return impl;
  }

  /** The native library path for JNI, else null. */
  public String nativeLibrary() {
    return nativeLibrary;
  }

  /** A short description: "JNIBLAS (/usr/lib/.../libblas.so.3)" or "VectorBLAS". */
  public String describe() {
    String name = blas.getClass().getSimpleName();
    return nativeLibrary == null ? name : name + " (" + nativeLibrary + ")";
  }

  /**
   * Row-major C = alpha op(A) op(B) + beta C, where op(A) is m x k, op(B) is k x n and C is m x n,
   * each stored densely from its offset (leading dimension = its row length as stored).
   */
  public void gemm(boolean transA, boolean transB, int m, int n, int k, float alpha,
      float[] a, int aOff, float[] b, int bOff, float beta, float[] c, int cOff) {
    if (m == 0 || n == 0) {
      return;
    }
    if (m == 1 && !transA) {
      // One row (a single-row prediction): a matrix-vector product. OpenBLAS's sgemm with one row
      // runs its blocked matrix kernel; sgemv streams the matrix once. Column-major, op(B)^T is n x k.
      if (transB) {
        blas.sgemv("T", k, n, alpha, b, bOff, k, a, aOff, 1, beta, c, cOff, 1);
      } else {
        blas.sgemv("N", n, k, alpha, b, bOff, n, a, aOff, 1, beta, c, cOff, 1);
      }
      return;
    }
    int lda = transA ? m : k;
    int ldb = transB ? k : n;
    blas.sgemm(transB ? "T" : "N", transA ? "T" : "N", n, m, k, alpha,
        b, bOff, ldb, a, aOff, lda, beta, c, cOff, n);
  }

  /** y += alpha x over n elements. */
  public void axpy(int n, float alpha, float[] x, int xOff, float[] y, int yOff) {
    blas.saxpy(n, alpha, x, xOff, 1, y, yOff, 1);
  }

  @Override
  public String toString() {
    return describe();
  }
}
