package io.sparktrain.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sparktrain.util.Seeds;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** StepRows (once per span) against a brute-force scan of every row, step by step. */
class StepRowsTest {
  @Test
  void everyStepHasTheRowsThePerStepScanFinds() {
    long[][] cases = {{1000, 3, 32}, {1000, 1, 1000}, {77, 4, 10}, {500, 7, 128}, {10, 3, 3}};
    for (long[] c : cases) {
      int n = (int) c[0];
      int parts = (int) c[1];
      int batch = (int) c[2];
      long steps = (n + batch - 1) / batch;
      long seed = Seeds.of(11, 2);
      int total = 0;
      for (int p = 0; p < parts; p++) {
        int rows = (int) ((long) n * (p + 1) / parts - (long) n * p / parts);
        long offset = (long) n * p / parts;
        // The whole epoch and a span in the middle.
        long[][] spans = {{0, steps}, {steps / 3, Math.max(steps / 3 + 1, 2 * steps / 3)}};
        for (long[] span : spans) {
          StepRows sr = StepRows.of(rows, offset, n, seed, batch, span[0], span[1]);
          for (long s = span[0]; s < span[1]; s++) {
            int[] expected = scan(rows, offset, n, seed, s * batch, Math.min(n, (s + 1) * batch));
            int[] got = Arrays.copyOfRange(sr.rows(), sr.start(s), sr.end(s));
            assertArrayEquals(expected, got, Arrays.toString(c) + " partition " + p + " step " + s);
            if (span == spans[0]) {
              total += got.length;
            }
          }
        }
      }
      assertEquals(n, total, "every row once per epoch: " + Arrays.toString(c));
    }
  }

  /** The rows whose position in the epoch's permutation falls in [lo, hi), in position order. */
  static int[] scan(int rows, long offset, long n, long seed, long lo, long hi) {
    IndexPermutation perm = new IndexPermutation(n, seed);
    List<long[]> hits = new ArrayList<>();
    for (int i = 0; i < rows; i++) {
      long pos = perm.apply(offset + i);
      if (pos >= lo && pos < hi) {
        hits.add(new long[] {pos, i});
      }
    }
    hits.sort((a, b) -> Long.compare(a[0], b[0]));
    return hits.stream().mapToInt(h -> (int) h[1]).toArray();
  }
}
