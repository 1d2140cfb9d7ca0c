package io.sparktrain.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sparktrain.linalg.RowSet;
import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Embedding tables in a wide-and-deep network against PyTorch 1.13's {@code nn.EmbeddingBag}
 * (loss, gradient and outputs from {@code nn/make_embedding_reference.py}, kept beside its JSON),
 * against centred finite differences on a batch with CSR features as well, and the rows
 * {@link Network#trackRows} lists against the rows the gradient is nonzero in.
 */
class EmbeddingReferenceTest {
  private static JsonNode reference() throws IOException {
    try (InputStream in = EmbeddingReferenceTest.class.getResourceAsStream("/nn/embedding_reference.json")) {
      return new ObjectMapper().readTree(in);
    }
  }

  private static float[] floats(JsonNode a) {
    float[] f = new float[a.size()];
    for (int i = 0; i < f.length; i++) f[i] = (float) a.get(i).asDouble();
    return f;
  }

  private static Network network(JsonNode ref) {
    Network.Builder b = Network.builder(ref.get("numeric").asInt());
    for (JsonNode t : ref.get("tables")) {
      b.embedding(new Embedding(t.get("buckets").asInt(), t.get("dim").asInt(),
          Embedding.Combiner.parse(t.get("combiner").asText())));
    }
    return b.dense(ref.get("hidden").asInt(), Activation.TANH).dense(ref.get("classes").asInt(), Activation.SOFTMAX)
        .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
  }

  /** The reference batch: dense numeric features, labels, weights and the bags of ids. */
  private static MiniBatch batch(JsonNode ref) {
    int numeric = ref.get("numeric").asInt();
    JsonNode bags = ref.get("bags");
    int rows = bags.size();
    int k = ref.get("tables").size();
    MiniBatch mb = new MiniBatch(numeric, 1, k);
    mb.resize(rows, true);
    float[] x = floats(ref.get("features"));
    System.arraycopy(x, 0, mb.features(), 0, x.length);
    float[] y = floats(ref.get("labels"));
    System.arraycopy(y, 0, mb.labels(), 0, rows);
    float[] w = floats(ref.get("weights"));
    System.arraycopy(w, 0, mb.weights(), 0, rows);
    int ids = 0;
    for (JsonNode row : bags) {
      for (JsonNode bag : row) ids += bag.size();
    }
    mb.resizeCategorical(ids);
    int at = 0;
    for (int r = 0; r < rows; r++) {
      for (int c = 0; c < k; c++) {
        mb.catPtr()[r * k + c] = at;
        for (JsonNode id : bags.get(r).get(c)) mb.catIds()[at++] = id.asInt();
      }
    }
    mb.catPtr()[rows * k] = at;
    return mb;
  }

  @Test
  void lossGradientAndOutputsMatchPyTorchEmbeddingBag() throws IOException {
    JsonNode ref = reference();
    Network net = network(ref);
    MiniBatch mb = batch(ref);
    float[] params = floats(ref.get("params"));
    assertEquals(net.layout().size(), params.length, "the script's flat layout has the network's size");
    float[] grad = new float[params.length];
    double loss = net.lossAndGradient(params, mb, grad, net.newWorkspace(), 0L);
    assertEquals(ref.get("loss").asDouble(), loss, 1e-5 * Math.abs(ref.get("loss").asDouble()));
    float[] expected = floats(ref.get("gradient"));
    for (int i = 0; i < grad.length; i++) {
      assertEquals(expected[i], grad[i], 2e-5, "gradient " + i + " (" + entryOf(net, i) + ")");
    }
    float[] probs = net.predict(params, mb, net.newWorkspace());
    assertArrayEquals(floats(ref.get("probabilities")), probs, 1e-5f);

    // Overwriting instead of accumulating gives the same gradient over a dirty buffer.
    float[] dirty = new float[params.length];
    Arrays.fill(dirty, 3f);
    net.lossAndGradient(params, mb, dirty, net.newWorkspace(), 0L, false);
    assertArrayEquals(grad, dirty, 0f);
  }

  @Test
  void trackedRowsCoverEveryNonzeroRowOfTheGradient() throws IOException {
    JsonNode ref = reference();
    Network net = network(ref);
    MiniBatch mb = batch(ref);
    float[] params = floats(ref.get("params"));
    float[] grad = new float[params.length];
    net.lossAndGradient(params, mb, grad, net.newWorkspace(), 0L);
    RowSet rows = new RowSet(net.rowSpace());
    net.trackRows(mb, rows);
    // The script's bags use every bucket of both tables, and the features are dense: every row is listed.
    assertEquals(net.rowSpace().rowCount(), rows.size());
    int kernelRows = net.sizes()[0];
    // A batch of the first two rows only uses some buckets: the others stay unlisted and zero.
    MiniBatch two = new MiniBatch(mb.inputs(), 1, 2);
    two.resize(2, false);
    System.arraycopy(mb.features(), 0, two.features(), 0, 2 * mb.inputs());
    two.labels()[0] = 0;
    two.labels()[1] = 2;
    two.resizeCategorical(mb.catPtr()[4]);
    System.arraycopy(mb.catPtr(), 0, two.catPtr(), 0, 5);
    System.arraycopy(mb.catIds(), 0, two.catIds(), 0, mb.catPtr()[4]);
    RowSet some = new RowSet(net.rowSpace());
    net.trackRows(two, some);
    some.sort();
    int t0 = net.rowSpace().firstRow(1);
    int t1 = net.rowSpace().firstRow(2);
    int[] expectedTableRows = {t0, t0 + 3, t0 + 6, t1 + 1};
    assertArrayEquals(expectedTableRows, Arrays.copyOfRange(some.ids(), kernelRows, some.size()));
    float[] g2 = new float[params.length];
    net.lossAndGradient(params, two, g2, net.newWorkspace(), 0L);
    RowSet all = new RowSet(net.rowSpace());
    for (int r = 0; r < all.rowCount(); r++) all.add(r);
    assertEquals(some.squaredNorm(g2), all.squaredNorm(g2), 1e-9, "the unlisted rows hold nothing");
  }

  /** Numeric features in CSR form plus two tables: the gradient against centred finite differences. */
  @Test
  void sparseFeaturesAndTablesAgainstFiniteDifferences() {
    int inputs = 9;
    Network net = Network.builder(inputs).embedding(new Embedding(6, 2, Embedding.Combiner.MEAN))
        .embedding(new Embedding(4, 3, Embedding.Combiner.SUM)).dense(5, Activation.TANH)
        .dense(3, Activation.SOFTMAX).loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
    SplittableRandom rnd = new SplittableRandom(5);
    int rows = 7;
    MiniBatch mb = new MiniBatch(inputs, 1, 2);
    int[][] cols = new int[rows][];
    int nnz = 0;
    for (int r = 0; r < rows; r++) {
      cols[r] = rnd.ints(0, inputs).distinct().limit(1 + rnd.nextInt(3)).sorted().toArray();
      nnz += cols[r].length;
    }
    mb.resizeSparse(rows, nnz, false);
    int at = 0;
    for (int r = 0; r < rows; r++) {
      mb.rowPtr()[r] = at;
      for (int c : cols[r]) {
        mb.cols()[at] = c;
        mb.features()[at++] = (float) (rnd.nextDouble() * 2 - 1);
      }
      mb.labels()[r] = rnd.nextInt(3);
    }
    mb.rowPtr()[rows] = at;
    mb.resizeCategorical(rows * 4);
    int ids = 0;
    for (int r = 0; r < rows; r++) {
      mb.catPtr()[2 * r] = ids;
      int bag = rnd.nextInt(3); // 0..2 ids in table 0: empty bags included
      for (int i = 0; i < bag; i++) mb.catIds()[ids++] = rnd.nextInt(6);
      mb.catPtr()[2 * r + 1] = ids;
      mb.catIds()[ids++] = rnd.nextInt(4);
    }
    mb.catPtr()[2 * rows] = ids;
    float[] p = net.initParameters(3L);
    for (int i = 0; i < p.length; i++) p[i] += (float) (0.1 * (rnd.nextDouble() - 0.5));
    float[] g = new float[p.length];
    net.lossAndGradient(p, mb, g, net.newWorkspace(), 0L);
    int checked = 0;
    for (int i = 0; i < p.length; i++) {
      float keep = p[i];
      float h = 1e-2f;
      p[i] = keep + h;
      double up = net.loss(p, mb, net.newWorkspace());
      p[i] = keep - h;
      double down = net.loss(p, mb, net.newWorkspace());
      p[i] = keep;
      double fd = (up - down) / (2 * h);
      assertEquals(fd, g[i], 2e-3 + 2e-3 * Math.abs(fd), "parameter " + i + " (" + entryOf(net, i) + ")");
      checked += g[i] != 0f ? 1 : 0;
    }
    assertTrue(checked > p.length / 2, "most of the gradient is nonzero: " + checked + " of " + p.length);
  }

  @Test
  void anIdOutsideItsTableIsRefused() throws IOException {
    JsonNode ref = reference();
    Network net = network(ref);
    MiniBatch mb = batch(ref);
    mb.catIds()[0] = 7; // table 0 has 7 buckets: ids 0..6
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> net.predict(floats(ref.get("params")), mb, net.newWorkspace()));
    assertTrue(e.getMessage().contains("expected a bucket id in 0..6, found 7"), e.getMessage());
    MiniBatch none = new MiniBatch(3, 1);
    none.resize(1, false);
    e = assertThrows(IllegalArgumentException.class,
        () -> net.predict(floats(ref.get("params")), none, net.newWorkspace()));
    assertTrue(e.getMessage().contains("expected 2 categorical columns"), e.getMessage());
  }

  private static String entryOf(Network net, int i) {
    for (ParameterLayout.Entry e : net.layout().entries()) {
      if (i >= e.offset() && i < e.end()) {
        return e.name() + "[" + (i - e.offset()) + "]";
      }
    }
    return "?";
  }
}
