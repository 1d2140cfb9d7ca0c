package io.sparktrain.examples.bench;

import io.sparktrain.linalg.Blas;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Single-thread training throughput of the core: 784-256-128-10 (ReLU, softmax cross-entropy,
 * Adam, batch 128) on random data shaped like Fashion-MNIST, once per BLAS implementation available.
 * Prints one JSON line per configuration. Run by {@code scripts/bench.sh core}.
 *
 * <p>Arguments: [batches per repetition (default 200)] [repetitions (default 7)] [batch (128)].
 */
public final class CoreBench {
  private CoreBench() {
  }

  private static final int ROWS = 8192;

  public static void main(String[] args) {
    int batches = args.length > 0 ? Integer.parseInt(args[0]) : 200;
    int reps = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    int batch = args.length > 2 ? Integer.parseInt(args[2]) : 128;
    int[] sizes = {784, 256, 128, 10};
    // forward 2*in*out per layer; backward dW 2*in*out per layer, dA for every layer but the first.
    double flopsPerSample = 0;
    for (int l = 0; l + 1 < sizes.length; l++) {
      double mm = 2.0 * sizes[l] * sizes[l + 1];
      flopsPerSample += mm * (l == 0 ? 2 : 3);
    }
    Blas.get();
    for (Blas.Impl impl : Blas.available()) {
      Blas blas = Blas.of(impl);
      int perRep = impl == Blas.Impl.JAVA11 ? Math.max(10, batches / 10) : batches;
      double[] sorted = rates(blas, perRep, reps, batch);
      double median = sorted[sorted.length / 2];
      System.out.println(String.format(Locale.ROOT,
          "{\"bench\":\"core\",\"model\":\"784-256-128-10\",\"batch\":%d,\"blas\":\"%s\",\"native\":%s,"
              + "\"threads\":1,\"repetitions\":%d,\"batches_per_rep\":%d,\"samples_per_s\":%.0f,"
              + "\"samples_per_s_min\":%.0f,\"samples_per_s_max\":%.0f,\"gflops\":%.2f}",
          batch, blas.describe().split(" ")[0],
          blas.nativeLibrary() == null ? "null" : "\"" + blas.nativeLibrary() + "\"",
          reps, perRep, median, sorted[0], sorted[sorted.length - 1], median * flopsPerSample / 1e9));
    }
  }

  /** Median single-thread samples/s on this JVM's BLAS (the figure other benchmarks compare to). */
  public static double singleThread(int batches, int reps, int batch) {
    return singleThread(batches, reps, batch, new int[] {256, 128});
  }

  /** As {@link #singleThread(int, int, int)} for 784-hidden-10. */
  public static double singleThread(int batches, int reps, int batch, int[] hidden) {
    double[] sorted = rates(Blas.get(), batches, reps, batch, hidden);
    return sorted[sorted.length / 2];
  }

  static double[] rates(Blas blas, int perRep, int reps, int batch) {
    return rates(blas, perRep, reps, batch, new int[] {256, 128});
  }

  /** Sorted samples/s of {@code reps} timed repetitions after one warm-up repetition. */
  static double[] rates(Blas blas, int perRep, int reps, int batch, int[] hidden) {
    Network.Builder nb = Network.builder(784);
    for (int h : hidden) nb.dense(h, Activation.RELU);
    Network net = nb.dense(10, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    int rows = ROWS;
    Random r = new Random(1);
    float[] x = new float[rows * 784];
    float[] y = new float[rows];
    for (int i = 0; i < x.length; i++) x[i] = r.nextFloat();
    for (int i = 0; i < rows; i++) y[i] = r.nextInt(10);
    Network.Workspace ws = net.newWorkspace(blas);
    float[] p = net.initParameters(1);
    Optimizer adam = OptimizerSpec.adam().build().create(p.length);
    float[] g = new float[p.length];
    float[] bx = new float[batch * 784];
    float[] by = new float[batch];
    MiniBatch mb = MiniBatch.wrap(784, 1, bx, by, null, batch);
    List<Double> rates = new ArrayList<>();
    int cursor = 0;
    for (int rep = -1; rep < reps; rep++) {
      long t0 = System.nanoTime();
      for (int b = 0; b < perRep; b++) {
        if (cursor + batch > rows) cursor = 0;
        System.arraycopy(x, cursor * 784, bx, 0, batch * 784);
        System.arraycopy(y, cursor, by, 0, batch);
        cursor += batch;
        Arrays.fill(g, 0f);
        net.lossAndGradient(p, mb, g, ws, b);
        float inv = 1f / batch;
        for (int i = 0; i < g.length; i++) g[i] *= inv;
        adam.step(p, g);
      }
      double secs = (System.nanoTime() - t0) / 1e9;
      if (rep >= 0) rates.add(perRep * (double) batch / secs); // rep -1 is the warm-up
    }
    return rates.stream().mapToDouble(Double::doubleValue).sorted().toArray();
  }
}
