package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.MiniBatch;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class LocalWorkTest {
  private final Network net = Network.builder(6)
      .dense(8, Activation.TANH, 0.25f)
      .dense(3, Activation.SOFTMAX)
      .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();

  private Block block(int rows, boolean weighted, long seed) {
    Random r = new Random(seed);
    float[] x = new float[rows * 6];
    float[] y = new float[rows];
    float[] w = weighted ? new float[rows] : null;
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    for (int i = 0; i < rows; i++) {
      y[i] = r.nextInt(3);
      if (w != null) w[i] = 0.5f + r.nextFloat();
    }
    return new Block(rows, 6, 1, x, y, w);
  }

  @Test
  void permutationIsAPermutationAndSeeded() {
    int[] p = LocalWork.permutation(1000, 42);
    int[] sorted = p.clone();
    Arrays.sort(sorted);
    for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
    assertArrayEquals(p, LocalWork.permutation(1000, 42));
    assertTrue(!Arrays.equals(p, LocalWork.permutation(1000, 43)));
  }

  @Test
  void gradientDoesNotDependOnTheMicroBatchWithoutDropout() {
    Network plain = Network.builder(6).dense(8, Activation.TANH).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Block b = block(300, true, 1);
    float[] p = plain.initParameters(7);
    int[] order = LocalWork.permutation(300, 3);
    Update whole = new LocalWork(plain, 0f).gradient(p, b, order, 10, 290, 1000, 5);
    Update chunks = new LocalWork(plain, 0f).gradient(p, b, order, 10, 290, 17, 5);
    assertEquals(whole.lossSum(), chunks.lossSum(), 1e-3 * Math.abs(whole.lossSum()));
    assertEquals(whole.weight(), chunks.weight(), 1e-6);
    for (int i = 0; i < p.length; i++) {
      assertEquals(whole.vector()[i], chunks.vector()[i], 1e-4f + 1e-4f * Math.abs(whole.vector()[i]));
    }
    // The sum over a slice equals the sum of the two halves, merged as the aggregator does.
    Update left = new LocalWork(plain, 0f).gradient(p, b, order, 10, 150, 64, 5);
    Update right = new LocalWork(plain, 0f).gradient(p, b, order, 150, 290, 64, 5);
    Update merged = new Update().merge(left).merge(right);
    assertEquals(2, merged.parts());
    for (int i = 0; i < p.length; i++) {
      assertEquals(whole.vector()[i], merged.vector()[i], 1e-4f + 1e-4f * Math.abs(whole.vector()[i]));
    }
  }

  @Test
  void sameSeedSameUpdateAndDropoutFollowsTheSeed() {
    Block b = block(200, false, 2);
    float[] p = net.initParameters(1);
    int[] order = LocalWork.permutation(200, 9);
    OptimizerSpec adam = OptimizerSpec.adam().learningRate(0.01).build();
    Update u1 = new LocalWork(net, 1e-4f).localSteps(p, b, order, 0, 200, 32, adam, 77);
    Update u2 = new LocalWork(net, 1e-4f).localSteps(p, b, order, 0, 200, 32, adam, 77);
    Update u3 = new LocalWork(net, 1e-4f).localSteps(p, b, order, 0, 200, 32, adam, 78);
    assertArrayEquals(u1.vector(), u2.vector());
    assertTrue(!Arrays.equals(u1.vector(), u3.vector()), "another dropout seed must change the update");
    assertEquals(7, u1.steps());
    assertEquals(200, u1.rows());
  }

  @Test
  void oneSgdStepIsMinusLearningRateTimesTheMeanGradient() {
    Network plain = Network.builder(6).dense(5, Activation.RELU).dense(3, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    Block b = block(50, true, 4);
    float[] p = plain.initParameters(3);
    float lambda = 0.01f;
    Update step = new LocalWork(plain, lambda).localSteps(p, b, null, 0, 50, 50,
        OptimizerSpec.sgd().learningRate(0.1).build(), 0);
    // Independent path: the network's gradient of the whole block, divided by the weight sum, + L2.
    float[] g = new float[p.length];
    MiniBatch mb = MiniBatch.wrap(6, 1, b.features(), b.labels(), b.weights(), 50);
    plain.lossAndGradient(p, mb, g, plain.newWorkspace(), 0);
    double wsum = mb.weightSum();
    for (int i = 0; i < g.length; i++) g[i] /= (float) wsum;
    plain.addL2(p, g, lambda);
    assertEquals(wsum, step.weight(), 1e-4);
    for (int i = 0; i < p.length; i++) {
      float delta = step.vector()[i] / (float) step.weight();
      assertEquals(-0.1f * g[i], delta, 1e-5f + 1e-3f * Math.abs(g[i]));
    }
  }

  @Test
  void emptySliceAndMismatchedBlock() {
    float[] p = net.initParameters(1);
    Update u = new LocalWork(net, 0f).gradient(p, Block.empty(6, 1, false), new int[0], 0, 0, 64, 1);
    assertTrue(u.isEmpty());
    assertEquals(0, u.weight());
    Block wrong = new Block(2, 5, 1, new float[10], new float[2], null);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LocalWork(net, 0f).gradient(p, wrong, null, 0, 2, 64, 1));
    assertTrue(e.getMessage().contains("expected 6 features"), e.getMessage());
  }

  @Test
  void mergeWithEmptySides() {
    Update a = new Update(new float[] {1, 2}, 2, 3, 4, 1);
    Update merged = new Update().merge(new Update()).merge(a).merge(new Update());
    assertArrayEquals(new float[] {1, 2}, merged.vector());
    assertEquals(2, merged.weight());
    assertArrayEquals(new float[] {0.5f, 1f}, merged.mean());
    assertEquals(1.5, merged.meanLoss(), 1e-12);
  }
}
