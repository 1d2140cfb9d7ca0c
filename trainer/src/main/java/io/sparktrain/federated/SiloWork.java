package io.sparktrain.federated;

import com.esotericsoftware.kryo.Kryo;
import com.esotericsoftware.kryo.KryoSerializable;
import com.esotericsoftware.kryo.io.Input;
import com.esotericsoftware.kryo.io.Output;
import io.sparktrain.data.Block;
import io.sparktrain.linalg.RowSlice;
import io.sparktrain.nn.Network;
import io.sparktrain.train.LocalWork;
import io.sparktrain.train.TaskHook;
import io.sparktrain.train.Update;
import io.sparktrain.util.JavaBytes;
import io.sparktrain.util.Seeds;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Map;
import org.apache.spark.TaskContext;

/**
 * What a sampled silo does in a round and what it sends: its local epochs, then, as configured,
 * DP clipping and its share of the Gaussian noise, compression ({@link Compression}), or
 * secure-aggregation masking.
 * Everything is keyed by (seed, round, silo) and by a silo secret derived from the silo's own rows,
 * which the driver never sees; so a retried task sends the identical bytes.
 */
final class SiloWork {
  /** Fixed-point scale of secure aggregation: sums of example-weighted deltas stay far below 2^31 / scale. */
  static final double SECURE_SCALE = 1024;

  private SiloWork() {
  }

  /** One silo's upload. Exactly one of {@code vector}, {@code compressed}, {@code masked} is set. */
  static final class Result implements Serializable, KryoSerializable {
    private static final long serialVersionUID = 3L;
    int silo;
    transient float[] vector;
    /** The rows of a sparse first kernel {@code vector} may be nonzero in (row-sparse on the wire), or null. */
    RowSlice touched;
    CompressedUpdate compressed;
    int[] masked;
    double weight;
    double examples;
    double lossSum;
    long rows;
    long steps;

    private void writeObject(ObjectOutputStream out) throws IOException {
      out.defaultWriteObject();
      RowSlice.write(out, vector, touched);
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      vector = RowSlice.read(in);
    }

    /** Under Spark's KryoSerializer: the Java form (Kryo would skip the transient vector). */
    @Override
    public void write(Kryo kryo, Output output) {
      JavaBytes.writeKryo(output, this);
    }

    @Override
    public void read(Kryo kryo, Input input) {
      Result r = JavaBytes.readKryo(input, Result.class, "silo result (Kryo)");
      silo = r.silo;
      vector = r.vector;
      touched = r.touched;
      compressed = r.compressed;
      masked = r.masked;
      weight = r.weight;
      examples = r.examples;
      lossSum = r.lossSum;
      rows = r.rows;
      steps = r.steps;
    }
  }

  /** Quantization chunk of int8 uploads: one (min, step) per this many values. */
  static final int QUANTIZATION_CHUNK = Compression.CHUNK;

  /** Runs the config's {@link TaskHook} (tests inject failures with it) before a silo's work in a round. */
  static void beforeWork(TaskHook hook, long round, int p) {
    if (hook != null) {
      TaskContext tc = TaskContext.get();
      hook.beforeWork(round, p, tc == null ? 0 : tc.attemptNumber());
    }
  }

  /** The contribution vector and weight of silo {@code p}: n_k delta_k and n_k, or under DP clip(delta_k) and 1. */
  static Result run(Network net, FederatedConfig cfg, float[] params, Block b, int p, long round, int sampledCount,
      Map<Integer, byte[]> publicKeys) {
    return run(net, cfg, params, b, p, round, sampledCount, publicKeys, null, Stragglers.FULL);
  }

  /**
   * As {@link #run(Network, FederatedConfig, float[], Block, int, long, int, Map)}, stopped after
   * {@code maxSteps} local steps (a straggler, {@link Stragglers}; {@link Stragglers#FULL} = the full
   * E epochs), and with error feedback when {@code residual} is not null (compression only): the
   * silo compresses its contribution plus the residual and overwrites {@code residual} with what
   * compression lost.
   */
  static Result run(Network net, FederatedConfig cfg, float[] params, Block b, int p, long round, int sampledCount,
      Map<Integer, byte[]> publicKeys, float[] residual, int maxSteps) {
    if (residual != null && (cfg.secureAggregation() || !cfg.compress())) {
      throw new IllegalStateException("error feedback: expected compression without secure aggregation");
    }
    LocalWork work = new LocalWork(net, cfg.l2(), cfg.teacher(), cfg.reconstruction());
    Update u = work.localEpochs(params, b, cfg.localEpochs(), cfg.localBatch(), cfg.localOptimizer(), cfg.proxMu(),
        Seeds.of(cfg.seed(), round, p), maxSteps);
    Result r = new Result();
    r.silo = p;
    r.rows = u.rows();
    r.steps = u.steps();
    // The loss summed over one pass: the steps' loss sum divided by the passes made (E for a full client).
    long fullRows = (long) b.rows() * cfg.localEpochs();
    r.lossSum = u.rows() == fullRows ? u.lossSum() / cfg.localEpochs() : u.lossSum() * b.rows() / Math.max(1, u.rows());
    float[] v = u.vector();
    r.weight = u.weight();
    r.examples = u.weight();
    // The silo's secret keys both its DP noise and its secure-aggregation keys: hashed once per task.
    byte[] secret = cfg.secureAggregation() || (cfg.dp() && cfg.dpNoiseMultiplier() > 0) ? secretBytes(b) : null;
    boolean noised = false;
    if (cfg.dp()) {
      // DP-FedAvg (McMahan et al. 2018): the silo's own delta, clipped to S, counts once; its share of
      // the noise N(0, (z S)^2 / m) makes the sum of the m sampled silos carry N(0, (z S)^2).
      float inv = (float) (1.0 / u.weight());
      for (int i = 0; i < v.length; i++) v[i] *= inv;
      DpClipping.clip(v, cfg.dpClipNorm()); // a scale: zero rows stay zero
      if (cfg.dpNoiseMultiplier() > 0) {
        noised = true;
        DpClipping.addNoise(v, cfg.dpNoiseMultiplier() / Math.sqrt(sampledCount), cfg.dpClipNorm(),
            ByteBuffer.wrap(secret).getLong(), round, p);
      }
      r.weight = 1;
    }
    if (cfg.secureAggregation()) {
      float[] withTail = Arrays.copyOf(v, v.length + 3);
      withTail[v.length] = (float) r.weight;
      withTail[v.length + 1] = (float) r.lossSum;
      withTail[v.length + 2] = (float) r.examples;
      KeyPair kp = SecureAggregation.keyPair(secret, round);
      r.masked = SecureAggregation.mask(p, withTail, publicKeys, kp.getPrivate(), round, SECURE_SCALE);
      r.weight = 0; // travel masked, inside the vector
      r.lossSum = 0;
      r.examples = 0;
    } else if (cfg.compress()) {
      long seed = Seeds.of(cfg.seed(), round, p, Seeds.QUANTIZATION);
      r.compressed = residual == null ? cfg.compression().compress(v, seed)
          : ErrorFeedback.compress(v, residual, cfg.compression(), seed);
    } else {
      r.vector = v;
      r.touched = noised ? null : u.touched(); // noise is dense
    }
    return r;
  }

  /** The silo's public key for {@code round}: the only thing secure aggregation's first step uploads. */
  static byte[] publicKey(Block b, long round) {
    return SecureAggregation.publicKeyBytes(SecureAggregation.keyPair(secretBytes(b), round).getPublic());
  }

  /**
   * A secret of the silo: SHA-256 of its labels and first rows (their features and categories). The
   * driver, which never sees rows, cannot compute it; a retried task computes the same one.
   */
  static byte[] secretBytes(Block b) {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      int n = b.isSparse() ? b.rowPtr()[Math.min(b.rows(), 256)] : Math.min(b.rows(), 256) * b.inputs();
      ByteBuffer buf = ByteBuffer.allocate(4 * (n + (b.isSparse() ? n : 0) + b.labels().length));
      for (int i = 0; i < n; i++) buf.putFloat(b.features()[i]);
      if (b.isSparse()) {
        for (int i = 0; i < n; i++) buf.putInt(b.cols()[i]); // the first rows' nonzeros and where they are
      }
      for (float y : b.labels()) buf.putFloat(y);
      md.update("sparktrain-silo-secret".getBytes(StandardCharsets.US_ASCII));
      md.update(buf.array());
      if (b.categorical() > 0) { // the first rows' categories (a categorical-only silo has no other features)
        int ids = b.catPtr()[Math.min(b.rows(), 256) * b.categorical()];
        ByteBuffer cat = ByteBuffer.allocate(4 * ids);
        for (int i = 0; i < ids; i++) cat.putInt(b.catIds()[i]);
        md.update(cat.array());
      }
      return md.digest();
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("SHA-256 unavailable", e);
    }
  }
}
