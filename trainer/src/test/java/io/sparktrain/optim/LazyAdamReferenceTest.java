package io.sparktrain.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.linalg.RowSet;
import io.sparktrain.linalg.RowSlice;
import java.io.IOException;
import java.io.InputStream;
import org.junit.jupiter.api.Test;

/**
 * lazy_adam against PyTorch 1.13: {@code optim/lazy_adam_reference.json}, written by
 * {@code optim/make_lazy_adam_reference.py}, steps a 6 x 3 table with torch.optim.SparseAdam on
 * row-sparse gradients and 4 dense parameters with torch.optim.Adam. Replayed here with one
 * {@code lazy_adam} optimizer over the flat vector, given each step's touched rows.
 */
class LazyAdamReferenceTest {
  private static float[] floats(JsonNode a) {
    float[] f = new float[a.size()];
    for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
    return f;
  }

  private static JsonNode reference() throws IOException {
    try (InputStream in = LazyAdamReferenceTest.class.getResourceAsStream("/optim/lazy_adam_reference.json")) {
      assertNotNull(in, "test resource optim/lazy_adam_reference.json is missing");
      return new ObjectMapper().readTree(in);
    }
  }

  @Test
  void everyStepMatchesPyTorchSparseAdam() throws IOException {
    JsonNode ref = reference();
    assertTrue(ref.get("torch_version").asText().startsWith("1.13"));
    int rows = ref.get("rows").asInt();
    int width = ref.get("width").asInt();
    float[] p = floats(ref.get("initial_params"));
    OptimizerSpec spec = OptimizerSpec.builder("lazy_adam").learningRate(ref.get("lr").asDouble())
        .beta1(ref.get("betas").get(0).asDouble()).beta2(ref.get("betas").get(1).asDouble())
        .epsilon(ref.get("eps").asDouble()).build();
    Optimizer opt = spec.create(p.length);
    assertTrue(opt.lazy());
    RowSet touched = new RowSet(0, rows, width);
    int step = 0;
    for (JsonNode s : ref.get("steps")) {
      step++;
      touched.clear();
      for (JsonNode r : s.get("rows")) touched.add(r.asInt());
      float[] before = p.clone();
      opt.step(p, floats(s.get("gradient")), 1f, touched);
      float[] want = floats(s.get("params"));
      for (int i = 0; i < p.length; i++) {
        // SparseAdam adds eps to sqrt(v) before the bias correction, torch.optim.Adam (and we) after:
        // with eps = 1e-8 the two differ far below this tolerance.
        assertEquals(want[i], p[i], 1e-6 + 1e-5 * Math.abs(want[i]), "step " + step + " parameter " + i);
      }
      for (int r = 0; r < rows; r++) {
        if (!touched.contains(r)) {
          for (int j = 0; j < width; j++) {
            assertEquals(before[r * width + j], p[r * width + j], 0.0, "step " + step + ": untouched row " + r
                + " must not move");
          }
        }
      }
    }
  }

  @Test
  void theRememberedStateChecksumFollowsEveryChange() throws IOException {
    JsonNode ref = reference();
    float[] p = floats(ref.get("initial_params"));
    Optimizer opt = OptimizerSpec.lazyAdam().learningRate(0.05).build().create(p.length);
    Optimizer other = OptimizerSpec.lazyAdam().learningRate(0.05).build().create(p.length);
    RowSet rows = new RowSet(0, 6, 3);
    for (JsonNode s : ref.get("steps")) {
      rows.clear();
      for (JsonNode r : s.get("rows")) rows.add(r.asInt());
      long before = opt.stateChecksum();
      opt.step(p, floats(s.get("gradient")), 1f, rows);
      assertTrue(before != opt.stateChecksum(), "a step changes the state's checksum");
      assertEquals(opt.state().checksum(), opt.stateChecksum());
      other.stateChecksum(); // remembered, then overwritten below
      other.unpackRows(opt.steps(), RowSlice.of(rows), opt.packRows(RowSlice.of(rows)));
      other.restore(opt.state());
      assertEquals(opt.stateChecksum(), other.stateChecksum());
    }
  }

  @Test
  void withoutRowsItIsAdam() throws IOException {
    JsonNode ref = reference();
    float[] a = floats(ref.get("initial_params"));
    float[] b = a.clone();
    Optimizer lazy = OptimizerSpec.lazyAdam().learningRate(0.05).build().create(a.length);
    Optimizer adam = OptimizerSpec.adam().learningRate(0.05).build().create(a.length);
    for (JsonNode s : ref.get("steps")) {
      float[] g = floats(s.get("gradient"));
      lazy.step(a, g, 0.5f, null);
      adam.step(b, g, 0.5f);
    }
    for (int i = 0; i < a.length; i++) assertEquals(b[i], a[i], 0.0, "parameter " + i);
  }

  @Test
  void denseAdamMovesRowsItDidNotTouchThisStep() throws IOException {
    // The documented difference: Adam keeps moving a row touched earlier with its momentum.
    JsonNode ref = reference();
    float[] a = floats(ref.get("initial_params"));
    float[] b = a.clone();
    Optimizer lazy = OptimizerSpec.lazyAdam().learningRate(0.05).build().create(a.length);
    Optimizer adam = OptimizerSpec.adam().learningRate(0.05).build().create(a.length);
    RowSet first = new RowSet(0, 6, 3);
    first.add(0);
    float[] g = new float[a.length];
    g[0] = 1f;
    lazy.step(a, g, 1f, first);
    adam.step(b, g, 1f, first);
    RowSet second = new RowSet(0, 6, 3);
    second.add(1);
    float[] h = new float[a.length];
    h[3] = 1f;
    float row0Lazy = a[0];
    float row0Adam = b[0];
    lazy.step(a, h, 1f, second);
    adam.step(b, h, 1f, second);
    assertEquals(row0Lazy, a[0], 0.0, "lazy_adam: row 0 was not touched by step 2");
    assertTrue(Math.abs(b[0] - row0Adam) > 1e-3, "adam: row 0 keeps moving with its momentum");
  }
}
