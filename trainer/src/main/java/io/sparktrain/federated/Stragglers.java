package io.sparktrain.federated;

import io.sparktrain.util.Seeds;
import java.util.Arrays;
import java.util.SplittableRandom;

/**
 * Simulated systems heterogeneity, as in Li et al. 2020 (FedProx, Section 5.2 and the released
 * code): in each round a fraction p of the sampled silos are stragglers that do less local work.
 *
 * <ul>
 *   <li>Who: exactly round(p m) of the round's m sampled silos (halves round up), drawn uniformly
 *       without replacement from (seed, round). With p &lt; 1 that can still be all of them when m
 *       is small (m = 1, p &gt;= 0.5).
 *   <li>How much: a straggler runs e epochs, e uniform in {1, ..., E - 1}, drawn from (seed, round,
 *       silo) (the released FedProx code: {@code randint(1, E)} epochs). With E = 1 it runs s of
 *       the epoch's S = ceil(n / B) mini-batch steps, s uniform in {1, ..., S - 1}; when S = 1 too
 *       (full batch, or n &lt;= B) its one step is all it can do. The work is a prefix of the full
 *       client's: the same permutations and steps, stopped early.
 * </ul>
 * The draws do not depend on mu or the policy, so FedAvg and FedProx runs with one seed see the
 * same stragglers doing the same amount of work (as in the paper's code).
 */
public final class Stragglers {
  /** Not a straggler: the full E epochs. */
  public static final int FULL = 0;
  /** Not sampled, or dropped: no work. */
  public static final int NONE = -1;

  private Stragglers() {
  }

  /** One round's plan, over the round's sampled silos only (no per-silo arrays of all silos). */
  public static final class Plan {
    /** The sampled silos, increasing. */
    private final int[] silos;
    /** Per sampled silo (aligned with {@link #silos}). */
    private final boolean[] straggler;
    private final int[] steps;
    private final int stragglers;
    private final int dropped;
    private final int working;

    Plan(int[] silos, boolean[] straggler, int[] steps, int stragglers, int dropped, int working) {
      this.silos = silos;
      this.straggler = straggler;
      this.steps = steps;
      this.stragglers = stragglers;
      this.dropped = dropped;
      this.working = working;
    }

    /** True for the silos that straggle this round (a subset of the sampled ones). */
    public boolean isStraggler(int silo) {
      int i = Arrays.binarySearch(silos, silo);
      return i >= 0 && straggler[i];
    }

    /**
     * Per silo: {@link #NONE} (not sampled, or dropped), {@link #FULL} (E epochs) or the number of
     * local mini-batch steps the silo runs (a straggler under the partial policy).
     */
    public int steps(int silo) {
      int i = Arrays.binarySearch(silos, silo);
      return i >= 0 ? steps[i] : NONE;
    }

    public int stragglers() { return stragglers; }
    public int dropped() { return dropped; }
    /** Silos that send an update: sampled, not dropped. */
    public int working() { return working; }

    /** The silos that send an update (sampled and not dropped), increasing. */
    public int[] workingSilos() {
      return working(true);
    }

    /** The step budgets of {@link #workingSilos()}, aligned with it ({@link #FULL} or a straggler's steps). */
    int[] workingSteps() {
      return working(false);
    }

    /** The working silos' indices ({@code silo}) or step budgets, in silo order. */
    private int[] working(boolean silo) {
      int[] w = new int[working];
      int n = 0;
      for (int i = 0; i < silos.length; i++) {
        if (steps[i] != NONE) {
          w[n++] = silo ? silos[i] : steps[i];
        }
      }
      return w;
    }
  }

  /** The number of stragglers among {@code m} sampled silos: round(p m), halves up. */
  public static int count(int m, double p) {
    return (int) Math.min(m, Math.floor(p * m + 0.5));
  }

  /** Mini-batch steps of one local epoch over {@code rows} rows with batch {@code batch} (0 = full batch). */
  public static int stepsPerEpoch(long rows, int batch) {
    return batch == 0 ? 1 : (int) ((rows + batch - 1) / batch);
  }

  /**
   * The work of straggler {@code silo} in {@code round}, in local mini-batch steps: e epochs' worth,
   * e uniform in {1, ..., E - 1}; with E = 1, s uniform in {1, ..., S - 1} steps; at least 1.
   */
  public static int stragglerSteps(long seed, long round, int silo, long rows, int epochs, int batch) {
    SplittableRandom rnd = new SplittableRandom(Seeds.of(seed, round, silo, Seeds.STRAGGLER_SILO));
    int perEpoch = stepsPerEpoch(rows, batch);
    if (epochs >= 2) {
      return (1 + rnd.nextInt(epochs - 1)) * perEpoch;
    }
    return perEpoch >= 2 ? 1 + rnd.nextInt(perEpoch - 1) : 1;
  }

  /** The plan of {@code round}: who straggles among the silos {@code sampled} marks. */
  public static Plan plan(FederatedConfig cfg, long[] siloRows, boolean[] sampled, long round) {
    int m = 0;
    for (boolean x : sampled) m += x ? 1 : 0;
    int[] silos = new int[m];
    m = 0;
    for (int i = 0; i < sampled.length; i++) {
      if (sampled[i]) {
        silos[m++] = i;
      }
    }
    return plan(cfg, siloRows, silos, round);
  }

  /** The plan of {@code round}: who straggles among the {@code sampled} silos (increasing), and what each does. */
  public static Plan plan(FederatedConfig cfg, long[] siloRows, int[] sampled, long round) {
    int m = sampled.length;
    int[] idx = new int[m]; // positions in sampled
    for (int i = 0; i < m; i++) idx[i] = i;
    boolean[] straggler = new boolean[m];
    int s = cfg.stragglers() > 0 ? count(m, cfg.stragglers()) : 0;
    SplittableRandom rnd = new SplittableRandom(Seeds.of(cfg.seed(), round, Seeds.STRAGGLER_ROUND));
    for (int i = 0; i < s; i++) { // partial Fisher-Yates over the sampled silos, in silo order
      int j = i + rnd.nextInt(m - i);
      int t = idx[i];
      idx[i] = idx[j];
      idx[j] = t;
      straggler[idx[i]] = true;
    }
    boolean drop = cfg.dropsStragglers();
    int[] steps = new int[m];
    int dropped = 0;
    int working = 0;
    for (int i = 0; i < m; i++) {
      if (!straggler[i]) {
        steps[i] = FULL;
        working++;
      } else if (drop) {
        steps[i] = NONE;
        dropped++;
      } else {
        int silo = sampled[i];
        steps[i] = stragglerSteps(cfg.seed(), round, silo, siloRows[silo], cfg.localEpochs(), cfg.localBatch());
        working++;
      }
    }
    return new Plan(sampled.clone(), straggler, steps, s, dropped, working);
  }
}
