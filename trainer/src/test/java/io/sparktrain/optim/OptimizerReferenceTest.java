package io.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The optimizers against PyTorch 1.13: {@code optim/reference.json}, written by
 * {@code optim/make_reference.py} (see its header to regenerate), holds the initial parameters, the
 * gradients of every step and, per case, the hyper-parameters, the learning rate of every step
 * and the parameters after every step. Each case is replayed here with the Java optimizers.
 */
class OptimizerReferenceTest {
  /** Float tolerance: |actual - expected| <= ABS + REL |expected|. */
  private static final double REL = 1e-6;
  private static final double ABS = 1e-7;

  private static JsonNode reference;
  private static float[] initialParams;
  private static float[][] gradients;

  @BeforeAll
  static void load() throws IOException {
    try (InputStream in = OptimizerReferenceTest.class.getResourceAsStream("/optim/reference.json")) {
      assertNotNull(in, "test resource optim/reference.json is missing");
      reference = new ObjectMapper().readTree(in);
    }
    initialParams = floats(reference.get("initial_params"));
    JsonNode g = reference.get("gradients");
    gradients = new float[g.size()][];
    for (int i = 0; i < g.size(); i++) gradients[i] = floats(g.get(i));
    assertTrue(reference.get("torch_version").asText().startsWith("1.13"), "reference from torch 1.13");
    assertEquals(5, initialParams.length);
    assertTrue(gradients.length >= 4);
  }

  // ----------------------------------------------------------------------------------------------
  // Every step of every reference case.

  @TestFactory
  Stream<DynamicTest> matchesPyTorchEveryStep() {
    return cases().map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> replay(c)));
  }

  private static void replay(JsonNode c) {
    String name = c.get("name").asText();
    Optimizer opt = spec(c).create(initialParams.length);
    float[] p = initialParams.clone();
    double[] lrs = doubles(c.get("lrs"));
    JsonNode expected = c.get("params");
    JsonNode clipped = c.get("clipped_gradients");
    assertEquals(gradients.length, expected.size(), name + ": steps in the reference");
    for (int t = 0; t < gradients.length; t++) {
      String where = name + " step " + t;
      assertEquals(lrs[t], opt.currentLearningRate(), 1e-12 * Math.abs(lrs[t]) + 1e-15, where + ": learning rate");
      float[] g = gradients[t].clone();
      opt.step(p, g);
      assertEquals(t + 1, opt.steps(), where + ": step count");
      assertArrayEquals(gradients[t], g, where + ": the step must not modify the gradient");
      if (clipped != null) {
        float[] c2 = gradients[t].clone();
        Clipping.clipByGlobalNorm(c2, spec(c).clipNorm());
        assertClose(floats(clipped.get(t)), c2, where + ": gradient after clipping");
      }
      assertClose(floats(expected.get(t)), p, where + ": parameters");
    }
  }

  @TestFactory
  Stream<DynamicTest> aScaledStepEqualsAStepOnTheScaledGradient() {
    return cases().map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> {
      Optimizer scaled = spec(c).create(initialParams.length);
      Optimizer plain = spec(c).create(initialParams.length);
      float[] p1 = initialParams.clone();
      float[] p2 = initialParams.clone();
      for (float[] g : gradients) {
        float[] times4 = g.clone();
        for (int i = 0; i < times4.length; i++) times4[i] *= 4f;
        scaled.step(p1, times4, 0.25f);
        plain.step(p2, g.clone());
      }
      assertClose(p2, p1, c.get("name").asText() + ": step(4 g, 0.25) vs step(g)");
    }));
  }

  // ----------------------------------------------------------------------------------------------
  // state() / restore(): a run interrupted after k steps and resumed into a fresh optimizer
  // continues bit for bit like the uninterrupted run.

  @TestFactory
  Stream<DynamicTest> restoredStateContinuesIdentically() {
    return cases().map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> {
      OptimizerSpec spec = spec(c);
      int n = gradients.length;
      // The uninterrupted run, with a snapshot (parameters and state) after every step.
      Optimizer full = spec.create(initialParams.length);
      float[] p = initialParams.clone();
      float[][] paramsAfter = new float[n][];
      OptimizerState[] stateAfter = new OptimizerState[n];
      for (int t = 0; t < n; t++) {
        full.step(p, gradients[t].clone());
        paramsAfter[t] = p.clone();
        stateAfter[t] = full.state(); // later steps of `full` must not change this snapshot
      }
      for (int k = 1; k < n; k++) {
        Optimizer resumed = spec.create(initialParams.length);
        resumed.restore(stateAfter[k - 1]);
        assertEquals(k, resumed.steps());
        float[] q = paramsAfter[k - 1].clone();
        for (int t = k; t < n; t++) {
          resumed.step(q, gradients[t].clone());
          assertArrayEquals(paramsAfter[t], q, c.get("name").asText() + ": resumed after " + k
              + " steps, step " + t);
        }
        assertEquals(full.steps(), resumed.steps());
        assertEquals(full.currentLearningRate(), resumed.currentLearningRate());
        OptimizerState a = full.state();
        OptimizerState b = resumed.state();
        assertEquals(a.slotCount(), b.slotCount());
        for (int i = 0; i < a.slotCount(); i++) assertArrayEquals(a.slot(i), b.slot(i));
      }
    }));
  }

  @Test
  void stateIsADeepCopy() {
    Optimizer opt = OptimizerSpec.adam().learningRate(0.05).build().create(5);
    float[] p = initialParams.clone();
    opt.step(p, gradients[0].clone());
    OptimizerState s = opt.state();
    float[] m = s.slot(0);
    s.slot(0)[0] = 42f; // slot() hands out copies
    assertArrayEquals(m, s.slot(0));
    opt.step(p, gradients[1].clone());
    assertEquals(1, s.steps());
    assertArrayEquals(m, s.slot(0));
    assertFalse(Arrays.equals(m, opt.state().slot(0)));
  }

  @Test
  void restoreRejectsAStateOfAnotherShape() {
    Optimizer sgd = OptimizerSpec.sgd().build().create(5); // no momentum: no slots
    Optimizer adam = OptimizerSpec.adam().build().create(5);
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> adam.restore(sgd.state()));
    assertTrue(e.getMessage().contains("expected 2 slot vectors"), e.getMessage());
    Optimizer adam3 = OptimizerSpec.adam().build().create(3);
    e = assertThrows(IllegalArgumentException.class, () -> adam.restore(adam3.state()));
    assertTrue(e.getMessage().contains("expected 5 values"), e.getMessage());
  }

  // ----------------------------------------------------------------------------------------------
  // Clipping.

  @TestFactory
  Stream<DynamicTest> clippingMatchesClipGradNorm() {
    return cases().filter(c -> c.has("pre_clip_norms")).map(c -> DynamicTest.dynamicTest(c.get("name").asText(), () -> {
      double maxNorm = c.get("clip_norm").asDouble();
      double[] norms = doubles(c.get("pre_clip_norms"));
      JsonNode clipped = c.get("clipped_gradients");
      for (int t = 0; t < gradients.length; t++) {
        float[] g = gradients[t].clone();
        double norm = Clipping.clipByGlobalNorm(g, maxNorm);
        assertEquals(norms[t], norm, REL * norms[t], "step " + t + ": the returned norm is the pre-clip norm");
        assertEquals(Clipping.norm(gradients[t]), norm, 0.0);
        assertClose(floats(clipped.get(t)), g, "step " + t + ": clipped gradient");
        if (norm <= maxNorm) assertArrayEquals(gradients[t], g, "step " + t + ": unchanged below max_norm");
      }
    }));
  }

  @Test
  void clippingReturnsThePreClipNorm() {
    float[] g = {3f, 4f};
    assertEquals(5.0, Clipping.clipByGlobalNorm(g, 1.0), 0.0);
    assertEquals(1.0, Clipping.norm(g), 1e-6);
    assertEquals(0.6f, g[0], 1e-6f);
    assertEquals(0.8f, g[1], 1e-6f);

    float[] h = {3f, 4f};
    assertEquals(5.0, Clipping.clipByGlobalNorm(h, 10.0), 0.0);
    assertArrayEquals(new float[] {3f, 4f}, h);
  }

  // ----------------------------------------------------------------------------------------------
  // OptimizerSpec validation: the message names the key.

  static Stream<Arguments> badSpecs() {
    return Stream.of(
        bad("sgd.learning_rate", () -> OptimizerSpec.sgd().learningRate(0)),
        bad("sgd.learning_rate", () -> OptimizerSpec.sgd().learningRate(Double.NaN)),
        bad("adam.learning_rate", () -> OptimizerSpec.adam().learningRate(Double.POSITIVE_INFINITY)),
        bad("sgd.momentum", () -> OptimizerSpec.sgd().momentum(1.0)),
        bad("sgd.momentum", () -> OptimizerSpec.sgd().momentum(-0.1)),
        bad("sgd.nesterov", () -> OptimizerSpec.sgd().nesterov(true)),
        bad("adam.beta1", () -> OptimizerSpec.adam().beta1(1.0)),
        bad("adam.beta1", () -> OptimizerSpec.adam().beta1(Double.NaN)),
        bad("adam.beta2", () -> OptimizerSpec.adam().beta2(-0.5)),
        bad("adamw.beta2", () -> OptimizerSpec.adamW().beta2(1.5)),
        bad("adam.epsilon", () -> OptimizerSpec.adam().epsilon(0)),
        bad("adamw.epsilon", () -> OptimizerSpec.adamW().epsilon(-1e-8)),
        bad("adamw.weight_decay", () -> OptimizerSpec.adamW().weightDecay(-0.01)),
        bad("sgd.weight_decay", () -> OptimizerSpec.sgd().weightDecay(Double.NaN)),
        bad("adam.clip_norm", () -> OptimizerSpec.adam().clipNorm(-1)));
  }

  private static Arguments bad(String key, Supplier<OptimizerSpec.Builder> builder) {
    return Arguments.of(key, builder);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("badSpecs")
  void buildRejectsBadValuesNamingTheKey(String key, Supplier<OptimizerSpec.Builder> builder) {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> builder.get().build());
    assertTrue(e.getMessage().startsWith(key + ": expected"), e.getMessage());
  }

  @Test
  void defaultsAndValidEdgeValuesBuild() {
    OptimizerSpec adamW = OptimizerSpec.adamW().build();
    assertEquals(1e-3, adamW.learningRate());
    assertEquals(0.01, adamW.weightDecay());
    assertEquals(0.9, adamW.beta1());
    assertEquals(0.999, adamW.beta2());
    assertEquals(1e-8, adamW.epsilon());
    assertEquals(1e-2, OptimizerSpec.sgd().build().learningRate());
    assertEquals(0.0, OptimizerSpec.adam().build().weightDecay());
    OptimizerSpec.adam().beta1(0).beta2(0).clipNorm(0).build();
    OptimizerSpec.sgd().momentum(0.5).nesterov(true).build();
    assertEquals(OptimizerSpec.Kind.ADAMW, OptimizerSpec.builder(" AdamW ").build().kind());
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> OptimizerSpec.builder("rmsprop"));
    assertTrue(e.getMessage().contains("sgd, adam, adamw"), e.getMessage());
  }

  // ----------------------------------------------------------------------------------------------
  // Helpers.

  private static Stream<JsonNode> cases() {
    List<JsonNode> list = new ArrayList<>();
    reference.get("cases").forEach(list::add);
    return list.stream();
  }

  /** The OptimizerSpec of a reference case. */
  private static OptimizerSpec spec(JsonNode c) {
    JsonNode h = c.get("hyper");
    OptimizerSpec.Builder b = OptimizerSpec.builder(c.get("optimizer").asText())
        .learningRate(h.get("lr").asDouble())
        .weightDecay(h.get("weight_decay").asDouble())
        .clipNorm(c.get("clip_norm").asDouble())
        .schedule(schedule(c.get("schedule")));
    if (h.has("momentum")) {
      b.momentum(h.get("momentum").asDouble()).nesterov(h.get("nesterov").asBoolean());
    } else {
      b.beta1(h.get("beta1").asDouble()).beta2(h.get("beta2").asDouble()).epsilon(h.get("epsilon").asDouble());
    }
    return b.build();
  }

  private static LearningRateSchedule schedule(JsonNode s) {
    switch (s.get("kind").asText()) {
      case "constant":
        return LearningRateSchedule.constant();
      case "step":
        return LearningRateSchedule.step(s.get("every").asLong(), s.get("gamma").asDouble());
      case "exponential":
        return LearningRateSchedule.exponential(s.get("gamma").asDouble());
      case "cosine":
        return LearningRateSchedule.cosine(s.get("warmup").asLong(), s.get("total").asLong(),
            s.get("min_factor").asDouble());
      default:
        throw new IllegalArgumentException("unknown schedule " + s);
    }
  }

  private static void assertClose(float[] expected, float[] actual, String what) {
    assertEquals(expected.length, actual.length, what + ": length");
    for (int i = 0; i < expected.length; i++) {
      double d = Math.abs((double) actual[i] - expected[i]);
      if (!(d <= ABS + REL * Math.abs(expected[i]))) {
        fail(what + ": index " + i + ": expected " + expected[i] + ", found " + actual[i] + " (difference " + d
            + ")\n expected " + Arrays.toString(expected) + "\n found    "
            + Arrays.toString(actual));
      }
    }
  }

  private static float[] floats(JsonNode a) {
    float[] f = new float[a.size()];
    for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
    return f;
  }

  private static double[] doubles(JsonNode a) {
    double[] d = new double[a.size()];
    for (int i = 0; i < d.length; i++) d[i] = a.get(i).asDouble();
    return d;
  }
}
