package io.sparktrain.examples;

import io.sparktrain.data.Block;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.Optimizer;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.Update;
import io.sparktrain.util.Seeds;
import java.util.Locale;
import java.util.Random;

/**
 * The seed tutorial's Keras example with sparktrain's Java API, in-process:
 * Dense(10, relu) -> Dense(1, sigmoid), binary cross-entropy, Adam, then accuracy, recall and F1
 * on held-out rows. Run: {@code scripts/example.sh SimpleNet}.
 */
public final class SimpleNet {
  private SimpleNet() {
  }

  public static void main(String[] args) {
    int features = 10;
    Block train = separable(2000, features, 1);
    Block test = separable(500, features, 2);

    Network net = Network.builder(features)
        .dense(10, Activation.RELU)
        .dense(1, Activation.SIGMOID)
        .loss(Loss.BINARY_CROSS_ENTROPY)
        .build();
    System.out.println(net);

    float[] params = net.initParameters(42);
    Optimizer adam = OptimizerSpec.adam().learningRate(0.01).build().create(params.length);
    LocalWork work = new LocalWork(net, 0f);
    int batch = 32;
    for (int epoch = 1; epoch <= 10; epoch++) {
      int[] order = LocalWork.permutation(train.rows(), Seeds.of(42, epoch));
      double loss = 0;
      for (int from = 0; from < train.rows(); from += batch) {
        int to = Math.min(train.rows(), from + batch);
        Update g = work.gradient(params, train, order, from, to, batch, epoch);
        loss += g.lossSum();
        adam.step(params, g.mean());
      }
      System.out.printf(Locale.ROOT, "epoch %d loss %.4f%n", epoch, loss / train.rows());
    }

    float[] p = net.predict(params, test.features(), test.rows(), net.newWorkspace());
    int tp = 0, fp = 0, fn = 0, correct = 0;
    for (int i = 0; i < test.rows(); i++) {
      boolean pred = p[i] >= 0.5f;
      boolean truth = test.labels()[i] == 1f;
      correct += pred == truth ? 1 : 0;
      tp += pred && truth ? 1 : 0;
      fp += pred && !truth ? 1 : 0;
      fn += !pred && truth ? 1 : 0;
    }
    double precision = tp / (double) Math.max(1, tp + fp);
    double recall = tp / (double) Math.max(1, tp + fn);
    double f1 = precision + recall == 0 ? 0 : 2 * precision * recall / (precision + recall);
    System.out.printf(Locale.ROOT, "test accuracy %.4f recall %.4f f1 %.4f%n",
        correct / (double) test.rows(), recall, f1);
  }

  /** Rows labelled by the sign of a fixed random hyperplane (the same plane for every seed). */
  static Block separable(int rows, int d, long seed) {
    Random plane = new Random(0);
    float[] w = new float[d];
    for (int j = 0; j < d; j++) w[j] = (float) plane.nextGaussian();
    Random r = new Random(seed);
    float[] x = new float[rows * d];
    float[] y = new float[rows];
    for (int i = 0; i < rows; i++) {
      double s = 0;
      for (int j = 0; j < d; j++) {
        x[i * d + j] = (float) r.nextGaussian();
        s += x[i * d + j] * w[j];
      }
      y[i] = s > 0 ? 1f : 0f;
    }
    return new Block(rows, d, 1, x, y, null);
  }
}
