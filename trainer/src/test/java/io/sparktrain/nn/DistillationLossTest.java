package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The distillation loss ({@link DistillationLoss}) through {@link Network#lossAndGradient}: loss and
 * parameter gradient against PyTorch 1.13 ({@code nn/make_distillation_reference.py}, kept beside its
 * JSON) for a softmax and a two-label sigmoid network; the logit gradient against centred finite
 * differences of the loss itself; and its two ends (alpha 0 is the plain loss, a student equal to its
 * teacher has zero soft loss).
 */
class DistillationLossTest {
  private static JsonNode reference() throws IOException {
    try (InputStream in = DistillationLossTest.class.getResourceAsStream("/nn/distillation_reference.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  private static float[] floats(JsonNode a) {
    float[] f = new float[a.size()];
    for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
    return f;
  }

  private static Network network(int inputs, int hidden, JsonNode c) {
    boolean softmax = c.get("kind").asText().equals("softmax");
    return Network.builder(inputs).dense(hidden, softmax ? Activation.TANH : Activation.RELU)
        .dense(c.get("outputs").asInt(), softmax ? Activation.SOFTMAX : Activation.SIGMOID)
        .loss(softmax ? Loss.SOFTMAX_CROSS_ENTROPY : Loss.BINARY_CROSS_ENTROPY).build();
  }

  private static MiniBatch batch(Network net, JsonNode c) {
    float[] x = floats(c.get("features"));
    float[] y = floats(c.get("labels"));
    float[] w = floats(c.get("weights"));
    return MiniBatch.wrap(net.inputs(), net.labelWidth(), x, y, w, w.length);
  }

  @Test
  void lossAndGradientMatchPyTorch() throws IOException {
    JsonNode ref = reference();
    for (JsonNode c : ref.get("cases")) {
      Network net = network(ref.get("inputs").asInt(), ref.get("hidden").asInt(), c);
      float[] params = floats(c.get("params"));
      MiniBatch mb = batch(net, c);
      DistillationLoss d = new DistillationLoss((float) c.get("temperature").asDouble(),
          (float) c.get("alpha").asDouble());
      float[] grad = new float[params.length];
      double loss = net.lossAndGradient(params, mb, grad, net.newWorkspace(), 0L, false,
          floats(c.get("teacher_logits")), d);
      String what = c.get("kind").asText() + " " + d;
      double refLoss = c.get("loss").asDouble();
      assertEquals(refLoss, loss, 2e-6 * Math.abs(refLoss), what + ": loss");
      float[] expected = floats(c.get("gradient"));
      double max = 0;
      for (float g : expected) max = Math.max(max, Math.abs(g));
      assertTrue(max > 0.1, what + ": the reference gradient is not trivial");
      assertArrayEquals(expected, grad, (float) (2e-5 * max), what + ": gradient");
    }
  }

  /** The gradient with respect to the logits against centred differences of the loss (double sums). */
  @Test
  void logitGradientMatchesFiniteDifferences() {
    SplittableRandom rnd = new SplittableRandom(7);
    int rows = 5;
    for (Loss hard : new Loss[] {Loss.SOFTMAX_CROSS_ENTROPY, Loss.BINARY_CROSS_ENTROPY}) {
      for (float[] ta : new float[][] {{1f, 0.5f}, {3f, 0.9f}, {7f, 1f}}) {
        int cols = 4;
        float[] z = new float[rows * cols];
        float[] t = new float[rows * cols];
        for (int i = 0; i < z.length; i++) {
          z[i] = (float) rnd.nextGaussian() * 2f;
          t[i] = (float) rnd.nextGaussian() * 4f;
        }
        float[] y = new float[hard == Loss.SOFTMAX_CROSS_ENTROPY ? rows : rows * cols];
        boolean classes = hard == Loss.SOFTMAX_CROSS_ENTROPY;
        for (int i = 0; i < y.length; i++) y[i] = classes ? rnd.nextInt(cols) : rnd.nextInt(2);
        float[] w = {1f, 2f, 0.5f, 0f, 1.5f};
        DistillationLoss d = new DistillationLoss(ta[0], ta[1]);
        float[] grad = new float[z.length];
        float[] a = new float[z.length]; // unused by the cross-entropies (they read the logits)
        d.lossAndGradient(hard, z, a, t, y, w, rows, cols, grad);
        float[] scratch = new float[z.length];
        for (int i = 0; i < z.length; i++) {
          float h = 1e-2f;
          float z0 = z[i];
          z[i] = z0 + h;
          double up = d.lossAndGradient(hard, z, a, t, y, w, rows, cols, scratch);
          z[i] = z0 - h;
          double down = d.lossAndGradient(hard, z, a, t, y, w, rows, cols, scratch);
          z[i] = z0;
          double numeric = (up - down) / (2.0 * h);
          assertEquals(numeric, grad[i], 1e-3 * Math.max(1, Math.abs(numeric)), hard + " " + d + " logit " + i);
        }
      }
    }
  }

  @Test
  void alphaZeroIsThePlainLossAndAnEqualTeacherAddsNothing() {
    Network net = Network.builder(3).dense(6, Activation.GELU).dense(4, Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    float[] p = net.initParameters(3);
    SplittableRandom rnd = new SplittableRandom(3);
    int rows = 9;
    float[] x = new float[rows * 3];
    float[] y = new float[rows];
    for (int i = 0; i < x.length; i++) x[i] = (float) rnd.nextGaussian();
    for (int i = 0; i < rows; i++) y[i] = rnd.nextInt(4);
    MiniBatch mb = MiniBatch.wrap(3, 1, x, y, null, rows);
    Network.Workspace ws = net.newWorkspace();
    float[] plain = new float[p.length];
    double plainLoss = net.lossAndGradient(p, mb, plain, ws, 0L, false);
    float[] teacher = net.logits(p, mb, net.newWorkspace()).clone();
    for (int i = 0; i < teacher.length; i++) teacher[i] += 5f * (float) rnd.nextGaussian(); // another teacher
    float[] g0 = new float[p.length];
    double loss0 = net.lossAndGradient(p, mb, g0, ws, 0L, false, teacher, new DistillationLoss(3f, 0f));
    assertEquals(plainLoss, loss0, 0.0, "alpha 0: the labels alone");
    assertArrayEquals(plain, g0, 0f, "alpha 0: the plain gradient, bit for bit");

    float[] self = net.logits(p, mb, net.newWorkspace()).clone();
    float[] g1 = new float[p.length];
    double loss1 = net.lossAndGradient(p, mb, g1, ws, 0L, false, self, new DistillationLoss(4f, 1f));
    assertEquals(0.0, loss1, 1e-6, "alpha 1 with the student as its own teacher: KL 0");
    for (float g : g1) assertEquals(0f, g, 1e-6f, "alpha 1, own teacher: zero gradient");
  }

  @Test
  void badSettingsAreRefusedWithTheirNames() {
    IllegalArgumentException t = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(0f, 0.5f));
    assertTrue(t.getMessage().contains("temperature") && t.getMessage().contains("found 0.0"), t.getMessage());
    IllegalArgumentException a = assertThrows(IllegalArgumentException.class, () -> new DistillationLoss(2f, 1.5f));
    assertTrue(a.getMessage().contains("alpha") && a.getMessage().contains("[0, 1]"), a.getMessage());
    IllegalArgumentException mse = assertThrows(IllegalArgumentException.class,
        () -> DistillationLoss.checkLoss(Loss.MSE, "training.distillation"));
    assertTrue(mse.getMessage().contains("found loss mse"), mse.getMessage());
  }
}
