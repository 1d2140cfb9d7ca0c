package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sparktrain.data.Block;
import io.sparktrain.optim.OptimizerSpec;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.Update;
import io.sparktrain.util.Seeds;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Pretraining's pieces without Spark: the mirrored autoencoder, the encoder handed to the supervised
 * network, the seeded corruption, and the reconstruction loss and gradient that {@link LocalWork}
 * computes, checked against {@link GradientCheckTest.Reference} (an independent double-precision
 * forward pass) on the corrupted rows with the clean rows as targets, and its centred finite
 * differences.
 */
class AutoencoderTest {
  private static final int D = 5;

  /** 5-4 tanh-3 sigmoid-2 softmax: smooth activations, so finite differences need no kink margin. */
  private static Network classifier() {
    return Network.builder(D).dense(4, Activation.TANH, 0.3f).dense(3, Activation.SIGMOID)
        .dense(2, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  @Test
  void theAutoencoderMirrorsTheHiddenLayersWithoutDropout() {
    Network ae = Autoencoder.of(classifier());
    assertArrayEquals(new int[] {5, 4, 3, 4, 5}, ae.sizes());
    Activation[] acts = {Activation.TANH, Activation.SIGMOID, Activation.TANH, Activation.IDENTITY};
    for (int l = 0; l < ae.depth(); l++) {
      assertEquals(acts[l].kind(), ae.layer(l).activation().kind(), "layer " + l);
      assertEquals(0f, ae.layer(l).dropout(), "layer " + l);
    }
    assertEquals(Loss.Kind.MSE, ae.loss().kind());
    assertEquals(D, ae.labelWidth());
    Network one = Network.builder(6).dense(3, Activation.RELU).dense(1, Activation.SIGMOID)
        .loss(Loss.BINARY_CROSS_ENTROPY).build();
    assertArrayEquals(new int[] {6, 3, 6}, Autoencoder.of(one).sizes());

    Network linear = Network.builder(4).dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Autoencoder.of(linear));
    assertTrue(e.getMessage().contains("expected a network with at least one hidden layer"), e.getMessage());
    Network embedded = Network.builder(2).embedding(10, 3).dense(4, Activation.RELU).dense(2, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> Autoencoder.of(embedded));
    assertTrue(c.getMessage().contains("expected numeric features only, found 1 categorical"), c.getMessage());
  }

  @Test
  void theInitialParametersAreTheEncoderAndAFreshOutputLayer() {
    Network net = classifier();
    Network ae = Autoencoder.of(net);
    float[] trained = ae.initParameters(99);
    for (int i = 0; i < trained.length; i++) trained[i] += 0.01f * i; // anything but an initialisation
    float[] init = Autoencoder.initialParams(net, trained, 7);
    float[] fresh = net.initParameters(7);
    int enc = net.layout().kernel(2).offset();
    assertEquals(enc, Autoencoder.encoderSize(net));
    assertEquals((5 + 1) * 4 + (4 + 1) * 3, enc);
    assertArrayEquals(Arrays.copyOf(trained, enc), Arrays.copyOf(init, enc), "the hidden layers are the encoder's");
    assertArrayEquals(Arrays.copyOfRange(fresh, enc, fresh.length), Arrays.copyOfRange(init, enc, init.length),
        "the output layer is the seed's fresh one");
    // With one seed, the autoencoder's encoder starts where the network's hidden layers do.
    assertArrayEquals(Arrays.copyOf(fresh, enc), Arrays.copyOf(ae.initParameters(7), enc));
  }

  @Test
  void corruptionIsAFunctionOfItsSeed() {
    int n = 200_000;
    float[] ones = new float[n];
    Arrays.fill(ones, 1f);
    Corruption mask = Corruption.masking(0.3);
    float[] a = ones.clone();
    float[] b = ones.clone();
    float[] c = ones.clone();
    mask.apply(a, n, 11);
    mask.apply(b, n, 11);
    mask.apply(c, n, 12);
    assertArrayEquals(a, b, "same seed, same mask");
    assertFalse(Arrays.equals(a, c), "another seed, another mask");
    int zeros = 0;
    for (float v : a) {
      assertTrue(v == 0f || v == 1f, "masked or kept as it was: " + v);
      zeros += v == 0f ? 1 : 0;
    }
    assertEquals(0.3, zeros / (double) n, 0.005, "the masked fraction");

    float[] g = new float[n];
    Corruption.gaussian(0.5).apply(g, n, 3);
    double sum = 0;
    double sq = 0;
    for (float v : g) {
      sum += v;
      sq += (double) v * v;
    }
    assertEquals(0, sum / n, 0.005, "gaussian noise has mean 0");
    assertEquals(0.5, Math.sqrt(sq / n - (sum / n) * (sum / n)), 0.005, "and standard deviation s");
    float[] same = ones.clone();
    Corruption.masking(0).apply(same, n, 1);
    Corruption.gaussian(0).apply(same, n, 1);
    assertArrayEquals(ones, same, "no noise changes nothing");

    assertEquals(Corruption.masking(0.25), Corruption.parse(" Masking( 0.25 ) "));
    assertEquals(Corruption.gaussian(0.5), Corruption.parse(Corruption.gaussian(0.5).toString()));
    for (String bad : new String[] {"salt(0.1)", "masking(1)", "masking(-0.1)", "gaussian(-1)", "masking", "x(",
        "gaussian(abc)"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Corruption.parse(bad), bad);
      assertEquals("noise: expected masking(p) with 0 <= p < 1, or gaussian(s) with s >= 0, found '" + bad + "'",
          e.getMessage());
    }
  }

  /** 7 rows of D features (weighted), unlabeled. */
  private static Block rows(float[] x, float[] w) {
    return new Block(7, D, 0, x, new float[0], w);
  }

  private static float[] features() {
    SplittableRandom r = new SplittableRandom(5);
    float[] x = new float[7 * D];
    for (int i = 0; i < x.length; i++) x[i] = (float) r.nextGaussian();
    return x;
  }

  private static final float[] WEIGHTS = {1f, 0.5f, 2f, 1f, 0f, 1.5f, 1f};
  private static final int[] ORDER = {3, 0, 6, 1, 5, 2, 4};

  @Test
  void theReconstructionGradientMatchesAnIndependentReference() {
    for (Corruption noise : new Corruption[] {Corruption.masking(0.3), Corruption.gaussian(0.4)}) {
      Network ae = Autoencoder.of(classifier());
      float[] params = ae.initParameters(3);
      float[] x = features();
      long seed = 17;
      Update u = new LocalWork(ae, 0f, null, noise).gradient(params, rows(x, WEIGHTS), ORDER, 0, 7, 7, seed);

      // The rows as the work gathered them (in ORDER), corrupted as documented: the micro-batch seed
      // (seed, chunk 0) mixed with Seeds.CORRUPTION.
      double[] clean = new double[7 * D];
      double[] w = new double[7];
      float[] corrupt = new float[7 * D];
      for (int i = 0; i < 7; i++) {
        w[i] = WEIGHTS[ORDER[i]];
        for (int j = 0; j < D; j++) {
          clean[i * D + j] = x[ORDER[i] * D + j];
          corrupt[i * D + j] = x[ORDER[i] * D + j];
        }
      }
      noise.apply(corrupt, 7 * D, Seeds.of(Seeds.of(seed, 0), Seeds.CORRUPTION));
      double[] in = new double[7 * D];
      int changed = 0;
      for (int i = 0; i < in.length; i++) {
        in[i] = corrupt[i];
        changed += corrupt[i] != clean[i] ? 1 : 0;
      }
      assertTrue(changed > 3, noise + " changed " + changed + " of " + in.length + " values");

      GradientCheckTest.Reference ref = new GradientCheckTest.Reference(ae);
      double[] p = new double[params.length];
      for (int i = 0; i < p.length; i++) p[i] = params[i];
      double loss = ref.loss(p, in, clean, w, 7, null, 0);
      assertEquals(loss, u.lossSum(), 1e-5 * Math.abs(loss), noise + ": the weighted MSE of the corrupted rows");
      assertEquals(7.0, u.weight(), 1e-9, "the example weight");
      double h = 1e-6;
      double num2 = 0;
      double diff2 = 0;
      for (int i = 0; i < p.length; i++) {
        double keep = p[i];
        p[i] = keep + h;
        double up = ref.loss(p, in, clean, w, 7, null, 0);
        p[i] = keep - h;
        double down = ref.loss(p, in, clean, w, 7, null, 0);
        p[i] = keep;
        double numeric = (up - down) / (2 * h);
        num2 += numeric * numeric;
        diff2 += (numeric - u.vector()[i]) * (numeric - u.vector()[i]);
        assertEquals(numeric, u.vector()[i], 1e-3 * Math.abs(numeric) + 1e-4, noise + " parameter " + i);
      }
      assertTrue(Math.sqrt(diff2) <= 1e-3 * Math.sqrt(num2), noise + ": relative gradient error "
          + Math.sqrt(diff2 / num2));
    }
  }

  @Test
  void labelsAreNeverReadAndARetriedBatchIsCorruptedIdentically() {
    Network ae = Autoencoder.of(classifier());
    float[] params = ae.initParameters(4);
    float[] x = features();
    Corruption noise = Corruption.masking(0.4);
    Update unlabeled = new LocalWork(ae, 0f, null, noise).gradient(params, rows(x, WEIGHTS), ORDER, 0, 7, 3, 21);
    float[] nan = new float[7 * 3];
    Arrays.fill(nan, Float.NaN);
    Update labeled = new LocalWork(ae, 0f, null, noise).gradient(params, new Block(7, D, 3, x, nan, WEIGHTS), ORDER,
        0, 7, 3, 21);
    assertArrayEquals(unlabeled.vector(), labeled.vector(), "labels of NaN change nothing: they are not read");
    assertEquals(unlabeled.lossSum(), labeled.lossSum());

    LocalWork work = new LocalWork(ae, 0f, null, noise);
    Update again = work.gradient(params, rows(x, WEIGHTS), ORDER, 0, 7, 3, 21);
    assertArrayEquals(unlabeled.vector(), again.vector(), "the same seed: the same corruption and gradient");
    Update other = work.gradient(params, rows(x, WEIGHTS), ORDER, 0, 7, 3, 22);
    assertFalse(Arrays.equals(unlabeled.vector(), other.vector()), "another seed corrupts otherwise");
    Update none = new LocalWork(ae, 0f, null, Corruption.masking(0)).gradient(params, rows(x, WEIGHTS), ORDER, 0, 7,
        3, 21);
    assertTrue(none.lossSum() < unlabeled.lossSum(), "clean rows reconstruct better than masked ones before training");

    OptimizerSpec adam = OptimizerSpec.adam().learningRate(0.01).build();
    Update steps = work.localSteps(params, rows(x, WEIGHTS), ORDER, 0, 7, 2, adam, 5);
    assertArrayEquals(steps.vector(), work.localSteps(params, rows(x, WEIGHTS), ORDER, 0, 7, 2, adam, 5).vector(),
        "local steps replay identically");

    Network supervised = classifier();
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> new LocalWork(supervised, 0f, null, noise));
    assertTrue(e.getMessage().contains("reconstruction: expected a network of dense numeric inputs whose outputs"),
        e.getMessage());
  }
}
