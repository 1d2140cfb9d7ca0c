package io.sparktrain.federated;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The compressed uploads ({@link Compression}, {@link QuantizedUpdate}, {@link SignUpdate},
 * {@link TopKUpdate}) against what theory gives: unbiasedness and the variance of stochastic
 * quantization, the delta-compressor bounds of scaled sign and top-k, the error-feedback invariant,
 * bit-packing, payload sizes, and int8 bit-identical to the original implementation.
 */
class CompressionTest {

  /** The int8 quantization sparktrain had before b-bit quantization, verbatim: codes and decoded values. */
  private static Object[] int8Reference(float[] x, int chunkSize, long seed) {
    int chunks = (x.length + chunkSize - 1) / chunkSize;
    byte[] codes = new byte[x.length];
    float[] mins = new float[chunks];
    float[] steps = new float[chunks];
    SplittableRandom rnd = new SplittableRandom(seed);
    for (int b = 0; b < chunks; b++) {
      int from = b * chunkSize;
      int to = Math.min(x.length, from + chunkSize);
      float lo = Float.POSITIVE_INFINITY;
      float hi = Float.NEGATIVE_INFINITY;
      for (int i = from; i < to; i++) {
        lo = Math.min(lo, x[i]);
        hi = Math.max(hi, x[i]);
      }
      double step = ((double) hi - lo) / 255;
      mins[b] = lo;
      steps[b] = (float) step;
      if (steps[b] == 0) {
        continue;
      }
      double inv = 1.0 / steps[b];
      for (int i = from; i < to; i++) {
        double level = (x[i] - (double) lo) * inv;
        double floor = Math.floor(level);
        int q = (int) floor + (rnd.nextDouble() < level - floor ? 1 : 0);
        codes[i] = (byte) Math.min(255, Math.max(0, q));
      }
    }
    float[] out = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      int b = i / chunkSize;
      out[i] = (float) (mins[b] + (double) (codes[i] & 0xFF) * steps[b]);
    }
    return new Object[] {codes, out};
  }

  @Test
  void int8IsBitIdenticalToTheOriginalQuantization() {
    float[] x = randomVector(10_000, 3);
    for (long seed : new long[] {1, 99, -5}) {
      Object[] ref = int8Reference(x, Compression.CHUNK, seed);
      QuantizedUpdate q = (QuantizedUpdate) Compression.parse("int8").compress(x, seed);
      assertArrayEquals((byte[]) ref[0], q.codes());
      assertArrayEquals((byte[]) ref[0], q.packedCodes()); // 8 bits: packing is the identity
      assertArrayEquals((float[]) ref[1], q.decode());
      assertArrayEquals(q.codes(), QuantizedUpdate.quantize(x, Compression.CHUNK, seed).codes());
    }
  }

  /** Packing b-bit codes and reading them back, for every b, lengths around byte boundaries. */
  @Test
  void bitPackingRoundTrips() {
    SplittableRandom r = new SplittableRandom(4);
    for (int bits : new int[] {2, 4, 8}) {
      for (int n : new int[] {0, 1, 3, 4, 5, 7, 8, 9, 1001}) {
        int[] codes = new int[n];
        for (int i = 0; i < n; i++) codes[i] = r.nextInt(1 << bits);
        byte[] packed = QuantizedUpdate.pack(codes, bits);
        assertEquals((n * bits + 7) / 8, packed.length, bits + " bits, " + n + " values");
        for (int i = 0; i < n; i++) {
          assertEquals(codes[i], QuantizedUpdate.unpack(packed, bits, i), bits + " bits, value " + i);
        }
      }
    }
    // The layout: low bits first. 2 bits: codes 1, 2, 3, 0 -> 0b00_11_10_01.
    assertArrayEquals(new byte[] {(byte) 0b00111001}, QuantizedUpdate.pack(new int[] {1, 2, 3, 0}, 2));
    // Through quantization: every code fits its bits, and the decoded value is lo + code * step.
    float[] x = randomVector(777, 5);
    for (int bits : new int[] {2, 4}) {
      QuantizedUpdate q = QuantizedUpdate.quantize(x, bits, 100, 6);
      byte[] codes = q.codes();
      float[] y = q.decode();
      for (int i = 0; i < x.length; i++) {
        assertTrue((codes[i] & 0xFF) < (1 << bits));
        assertEquals((float) (q.mins()[i / 100] + (double) (codes[i] & 0xFF) * q.steps()[i / 100]), y[i]);
        assertTrue(Math.abs(y[i] - x[i]) <= q.steps()[i / 100] * (1 + 1e-5), "index " + i);
      }
    }
  }

  @Test
  void payloadSizes() {
    for (int n : new int[] {1, 3, 4095, 4096, 4097, 159_010}) {
      long chunks = (n + 4095) / 4096;
      float[] x = randomVector(n, n);
      assertEquals(n + 8 * chunks, Compression.parse("int8").compress(x, 1).payloadBytes(), "int8, n " + n);
      assertEquals((n + 1) / 2 + 8 * chunks, Compression.parse("int4").compress(x, 1).payloadBytes(), "n " + n);
      assertEquals((n + 3) / 4 + 8 * chunks, Compression.parse("int2").compress(x, 1).payloadBytes(), "n " + n);
      assertEquals((n + 7) / 8 + 4 * chunks, Compression.parse("sign").compress(x, 1).payloadBytes(), "n " + n);
      long k = Math.max(1, Math.round(0.01 * n));
      assertEquals(8 * k, Compression.parse("topk(0.01)").compress(x, 1).payloadBytes(), "n " + n);
      for (String m : new String[] {"int8", "int4", "int2", "sign", "topk(0.01)", "topk(0.5)"}) {
        CompressedUpdate u = Compression.parse(m).compress(x, 1);
        assertEquals(4L * n, u.float32Bytes());
        assertEquals(Compression.parse(m).payloadBytes(n), u.payloadBytes(), m + ", n " + n);
      }
      assertEquals(4L * n, Compression.none().payloadBytes(n));
    }
    // The model of the measurements (784-200-10, 159,010 values): bytes per upload against float32's 636,040.
    assertEquals(159_010 + 8 * 39, Compression.parse("int8").payloadBytes(159_010));
    assertEquals(39_753 + 8 * 39, Compression.parse("int2").payloadBytes(159_010)); // 1/15.9 of float32
    assertEquals(8 * 1590, Compression.parse("topk(0.01)").payloadBytes(159_010)); // 1/50
  }

  /**
   * Unbiased at 4 and 2 bits: averaged over 4000 seeds, every value is within 5 standard errors of x,
   * the standard error from the exact per-value variance step^2 f (1 - f); and the mean squared error
   * matches that variance (and is below its bound step^2 / 4). Deterministic rounding to the nearest
   * level would miss the mean by up to step / 2, far more than 5 standard errors.
   */
  @Test
  void stochasticQuantizationIsUnbiasedWithTheTheoreticalVariance() {
    float[] x = randomVector(300, 7);
    int reps = 4000;
    for (int bits : new int[] {4, 2}) {
      int chunk = 100;
      double[] mean = new double[x.length];
      double[] sq = new double[x.length];
      QuantizedUpdate first = null;
      for (int r = 0; r < reps; r++) {
        QuantizedUpdate q = QuantizedUpdate.quantize(x, bits, chunk, 50_000 + r);
        first = first == null ? q : first;
        float[] y = q.decode();
        for (int i = 0; i < x.length; i++) {
          mean[i] += y[i] / (double) reps;
          sq[i] += (y[i] - (double) x[i]) * (y[i] - (double) x[i]) / reps;
        }
      }
      double varSum = 0;
      double boundSum = 0;
      double mseSum = 0;
      int ties = 0;
      for (int i = 0; i < x.length; i++) {
        double step = first.steps()[i / chunk];
        double lo = first.mins()[i / chunk];
        double level = (x[i] - lo) / step;
        double f = level - Math.floor(level);
        double var = step * step * f * (1 - f);
        varSum += var;
        boundSum += step * step / 4;
        mseSum += sq[i];
        if (var < 1e-12) {
          ties++; // a chunk's min or max: exact
          assertEquals(x[i], mean[i], 1e-5 * step, bits + " bits, index " + i);
          continue;
        }
        double se = Math.sqrt(var / reps);
        assertEquals(x[i], mean[i], 5 * se, bits + " bits, index " + i);
      }
      assertTrue(ties <= 2 * (x.length / chunk) + 3, "ties " + ties);
      // The total squared error of one draw: its mean over the draws is the variance sum (sd of that mean ~1.5 %).
      assertEquals(varSum, mseSum, 0.06 * varSum, bits + " bits");
      assertTrue(mseSum <= boundSum, bits + " bits: " + mseSum + " vs bound " + boundSum);
    }
  }

  /**
   * Scaled sign (Karimireddy et al. 2019): each value decodes to +-(mean |x| of its chunk) with x's
   * sign; ||C(x) - x||^2 = ||x||^2 - sum_c ||x_c||_1^2 / d_c exactly, which is at most
   * (1 - 1/d_c) ||x||^2 (the delta-compressor property) and, for Gaussian x, about (1 - 2/pi) ||x||^2.
   */
  @Test
  void scaledSignIsADeltaCompressor() {
    int chunk = 1000;
    float[] x = randomVector(2500, 8);
    x[17] = 0;
    SignUpdate s = SignUpdate.compress(x, chunk);
    float[] y = s.decode();
    double[] l1 = new double[3];
    for (int i = 0; i < x.length; i++) l1[i / chunk] += Math.abs(x[i]);
    double norm2 = 0;
    double err2 = 0;
    for (int i = 0; i < x.length; i++) {
      int c = i / chunk;
      double scale = l1[c] / Math.min(chunk, x.length - c * chunk);
      assertEquals((float) scale, Math.abs(y[i]), "index " + i);
      assertTrue(x[i] == 0 ? y[i] > 0 : Math.signum(y[i]) == Math.signum(x[i]), "index " + i);
      norm2 += (double) x[i] * x[i];
      err2 += (y[i] - (double) x[i]) * (y[i] - (double) x[i]);
    }
    double identity = norm2 - l1[0] * l1[0] / chunk - l1[1] * l1[1] / chunk - l1[2] * l1[2] / 500;
    assertEquals(identity, err2, 1e-4 * norm2);
    assertTrue(err2 <= (1 - 1.0 / chunk) * norm2);
    assertEquals(1 - 2 / Math.PI, err2 / norm2, 0.03);
    assertArrayEquals(y, SignUpdate.compress(x, chunk).decode()); // deterministic
    assertEquals(Compression.parse("sign").compress(x, 1).getClass(), SignUpdate.class);
  }

  /**
   * Top-k keeps exactly the k values largest in magnitude (checked against a full sort), breaks ties
   * by the lower index, and satisfies ||C(x) - x||^2 <= (1 - k/n) ||x||^2.
   */
  @Test
  void topKKeepsTheLargestMagnitudesWithDeterministicTies() {
    float[] x = randomVector(1000, 9);
    TopKUpdate t = TopKUpdate.compress(x, 0.05);
    assertEquals(50, t.indices().length);
    float[] y = t.decode();
    float smallestKept = Float.POSITIVE_INFINITY;
    float largestDropped = 0;
    double norm2 = 0;
    double err2 = 0;
    for (int i = 0; i < x.length; i++) {
      if (y[i] != 0) {
        assertEquals(x[i], y[i]);
        smallestKept = Math.min(smallestKept, Math.abs(x[i]));
      } else {
        largestDropped = Math.max(largestDropped, Math.abs(x[i]));
      }
      norm2 += (double) x[i] * x[i];
      err2 += (y[i] - (double) x[i]) * (y[i] - (double) x[i]);
    }
    assertTrue(smallestKept > largestDropped, smallestKept + " vs " + largestDropped);
    assertTrue(err2 <= (1 - 50.0 / 1000) * norm2);
    int[] idx = t.indices();
    for (int j = 1; j < idx.length; j++) assertTrue(idx[j] > idx[j - 1], "ascending indices");
    // Ties at the k-th magnitude: the lowest indices win, whatever the signs.
    float[] tied = {1, -3, 2, 3, -2, 3, 0, -3};
    assertArrayEquals(new int[] {1, 3}, TopKUpdate.compress(tied, 0.25).indices());
    assertArrayEquals(new int[] {1, 3, 5}, TopKUpdate.compress(tied, 0.375).indices());
    assertArrayEquals(new float[] {0, -3, 0, 3, 0, 3, 0, 0}, TopKUpdate.compress(tied, 0.375).decode());
    float[] flat = new float[10];
    Arrays.fill(flat, 0.5f);
    assertArrayEquals(new int[] {0, 1, 2}, TopKUpdate.compress(flat, 0.3).indices());
    // k = max(1, round(fraction n)), at most n.
    assertEquals(1, TopKUpdate.k(10, 0.01));
    assertEquals(1590, TopKUpdate.k(159_010, 0.01));
    assertEquals(10, TopKUpdate.k(10, 1));
  }

  /**
   * Error feedback with every method, over 60 rounds: the sum of what was sent plus the residual
   * equals the sum of the true deltas. Without error feedback the biased compressors (sign, top-k)
   * lose a growing part of the sum; with it the gap stays the size of one residual.
   */
  @Test
  void errorFeedbackKeepsSentPlusResidualEqualToTheTrueSum() {
    int d = 2000;
    int rounds = 60;
    for (String m : new String[] {"int8", "int4", "int2", "sign", "topk(0.01)", "topk(0.1)"}) {
      Compression c = Compression.parse(m + "_error_feedback");
      float[] residual = new float[d];
      double[] truth = new double[d];
      double[] sentEf = new double[d];
      double[] sentPlain = new double[d];
      for (int r = 0; r < rounds; r++) {
        float[] delta = randomVector(d, 300 + r);
        for (int i = 0; i < d; i++) delta[i] = 0.1f + 0.05f * delta[i]; // a drift every round, as in training
        for (int i = 0; i < d; i++) truth[i] += delta[i];
        float[] y = ErrorFeedback.compress(delta, residual, c, 9_000 + r).decode();
        float[] p = c.compress(delta, 9_000 + r).decode();
        for (int i = 0; i < d; i++) {
          sentEf[i] += y[i];
          sentPlain[i] += p[i];
        }
      }
      double gapEf = 0;
      double gapPlain = 0;
      for (int i = 0; i < d; i++) {
        assertEquals(truth[i], sentEf[i] + residual[i], 1e-3, m + ", index " + i);
        gapEf += Math.abs(truth[i] - sentEf[i]) / d;
        gapPlain += Math.abs(truth[i] - sentPlain[i]) / d;
      }
      if (m.equals("topk(0.1)")) {
        // Plain top-10 % sends little more than 10 % of the mass; with error feedback the rest follows
        // within about 1 / k rounds (top-1 % would need more rounds than this test runs).
        assertTrue(gapPlain > 0.8 * 0.1 * rounds, m + ": plain gap " + gapPlain);
        assertTrue(gapEf < 0.3 * gapPlain, m + ": error-feedback gap " + gapEf + " vs plain " + gapPlain);
      } else if (m.equals("sign")) {
        assertTrue(gapEf < 0.5 * gapPlain, m + ": error-feedback gap " + gapEf + " vs plain " + gapPlain);
      }
    }
    // The int8 form of ErrorFeedback sends the same bytes as the general one.
    float[] r1 = new float[d];
    float[] r2 = new float[d];
    float[] delta = randomVector(d, 1);
    QuantizedUpdate a = ErrorFeedback.compress(delta, r1, Compression.CHUNK, 5);
    QuantizedUpdate b = (QuantizedUpdate) ErrorFeedback.compress(delta, r2,
        Compression.parse("int8_error_feedback"), 5);
    assertArrayEquals(a.codes(), b.codes());
    assertArrayEquals(r1, r2);
  }

  @Test
  void everyUpdateSurvivesJavaSerialization() throws Exception {
    float[] x = randomVector(5000, 10);
    for (String m : new String[] {"int8", "int4", "int2", "sign", "topk(0.01)"}) {
      CompressedUpdate u = Compression.parse(m).compress(x, 3);
      CompressedUpdate back = roundTrip(u);
      assertArrayEquals(u.decode(), back.decode(), m);
      assertEquals(u.payloadBytes(), back.payloadBytes(), m);
    }
  }

  @Test
  void parsingAndNames() {
    String[][] cases = {
        {"none", "none", "none", "float32"},
        {"int8", "int8", "int8", "int8"},
        {"int8_error_feedback", "int8_error_feedback", "int8+error_feedback", "int8+EF"},
        {"int4", "int4", "int4", "int4"},
        {"int2_error_feedback", "int2_error_feedback", "int2+error_feedback", "int2+EF"},
        {"sign_error_feedback", "sign_error_feedback", "sign+error_feedback", "sign+EF"},
        {"topk(0.01)", "topk(0.01)", "topk(0.01)", "topk(0.01)"},
        {"TopK( 0.25 )_error_feedback", "topk(0.25)_error_feedback", "topk(0.25)+error_feedback",
            "topk(0.25)+EF"}};
    for (String[] c : cases) {
      Compression z = Compression.parse(c[0]);
      assertEquals(c[1], z.toString(), c[0]);
      assertEquals(c[2], z.reportName(), c[0]);
      assertEquals(c[3], z.label(), c[0]);
      assertEquals(z, Compression.parse(z.toString()), c[0]);
    }
    assertEquals(Compression.quantized(4).withErrorFeedback(true), Compression.parse("int4_error_feedback"));
    assertEquals(0.01, Compression.parse("topk(0.01)").fraction());
    assertTrue(Compression.parse("topk(1)").compresses());
    assertFalse(Compression.none().compresses());
    for (String bad : new String[] {"int3", "int16", "topk(0)", "topk(1.5)", "topk(x)", "topk()", "top1",
        "none_error_feedback", "sign_ef", "", "int8_error_feedback_error_feedback"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Compression.parse(bad), bad);
      assertEquals("federated.compression: expected one of none, int8, int4, int2, sign, topk(k) with 0 < k <= 1;"
          + " each but none optionally with the suffix _error_feedback, found " + bad, e.getMessage());
    }
    assertThrows(IllegalArgumentException.class, () -> Compression.quantized(3));
    assertThrows(IllegalArgumentException.class, () -> Compression.topK(0));
    // FederatedConfig: the Java API takes a Compression; error feedback without compression is refused.
    FederatedConfig cfg = FederatedConfig.builder().compression(Compression.parse("topk(0.01)_error_feedback"))
        .build();
    assertTrue(cfg.compress() && cfg.errorFeedback());
    assertEquals("topk(0.01)+error_feedback", cfg.toMap().get("compression"));
    IllegalArgumentException noMethod = assertThrows(IllegalArgumentException.class,
        () -> FederatedConfig.builder().compression(Compression.none().withErrorFeedback(true)).build());
    assertTrue(noMethod.getMessage().endsWith("found error feedback without compression"), noMethod.getMessage());
    IllegalArgumentException secure = assertThrows(IllegalArgumentException.class,
        () -> FederatedConfig.builder().compression(Compression.sign()).secureAggregation(true).build());
    assertTrue(secure.getMessage().endsWith("found sign"), secure.getMessage());
  }

  private static CompressedUpdate roundTrip(CompressedUpdate u) throws IOException, ClassNotFoundException {
    ByteArrayOutputStream bos = new ByteArrayOutputStream();
    try (ObjectOutputStream out = new ObjectOutputStream(bos)) {
      out.writeObject(u);
    }
    try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bos.toByteArray()))) {
      return (CompressedUpdate) in.readObject();
    }
  }

  private static float[] randomVector(int n, long seed) {
    SplittableRandom rnd = new SplittableRandom(seed);
    float[] x = new float[n];
    for (int i = 0; i < n; i++) x[i] = (float) rnd.nextGaussian();
    return x;
  }
}
