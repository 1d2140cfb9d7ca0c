package io.sparktrain.train;

import io.sparktrain.data.InputScaling;
import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Autoencoder;
import io.sparktrain.nn.Corruption;
import io.sparktrain.nn.Network;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Self-supervised pretraining of a network's hidden layers as a denoising autoencoder (Vincent et
 * al. 2008), before supervised training.
 *
 * <p><b>What it does.</b> The hidden layers (the encoder) and a mirrored decoder ({@link Autoencoder#of})
 * learn to output each row's clean features from a corrupted copy ({@link Corruption}: masking or
 * Gaussian noise), under mean squared error. It is an ordinary run of the round loop on the
 * autoencoder in reconstruction mode ({@link TrainConfig#reconstruction()}): {@link Trainer} for sync
 * (any engine) and average ({@link #run}); in federated runs
 * {@code io.sparktrain.federated.FederatedPretraining} runs the federated loop, where each silo pretrains
 * on its own rows. Labels are never read, so the data may be a larger unlabeled DataFrame decoded with
 * {@link io.sparktrain.data.InputSpec#unlabeled()}. The supervised run then starts from the pretrained
 * hidden layers and a fresh output layer ({@link Result#initialParams()}).
 *
 * <p><b>Its configuration</b> is the supervised run's ({@link #config(TrainConfig)}): same mode, engine,
 * optimizer, L2, seed and standardization, with {@link #epochs()} epochs (federated: that many rounds),
 * its own batch size if given ({@link #withBatchSize}: the unlabeled rows are often many more than the
 * labeled ones), no checkpoints, early stopping, validation, round limit or distillation.
 *
 * <p><b>Standardization.</b> With {@link TrainConfig#standardize()} the means and variances come from
 * the pretraining data (usually the larger set) and the supervised run must use the same ones, which
 * {@link Result#inputScaling()} hands to {@link Trainer#fit(TrainingData, TrainingData, float[], InputScaling)};
 * the model then stores that scaling.
 *
 * <pre>{@code
 * Pretraining pre = Pretraining.denoisingAutoencoder(5, Corruption.masking(0.25));
 * Pretraining.Result r = pre.run(network, config, TrainingData.decode(unlabeledDf, spec.unlabeled()));
 * TrainResult fit = new Trainer(network, config).fit(labeled, validation, r.initialParams(), r.inputScaling());
 * }</pre>
 * Dense numeric features only: sparse (CSR) vectors and categorical columns are refused with an error.
 */
public final class Pretraining implements Serializable {
  private static final long serialVersionUID = 1L;
  private static final Logger LOG = LoggerFactory.getLogger(Pretraining.class);

  /** The pretraining methods. */
  public enum Method { DENOISING_AUTOENCODER }

  private final int epochs;
  private final Corruption noise;
  private final int batchSize;

  private Pretraining(int epochs, Corruption noise, int batchSize) {
    ConfigChecks.require(epochs >= 1, "training.pretrain.epochs", ">= 1", epochs);
    ConfigChecks.require(batchSize >= 0, "training.pretrain.batch_size", ">= 1 (or 0 = training.batch_size)",
        batchSize);
    this.epochs = epochs;
    this.noise = Objects.requireNonNull(noise, "noise");
    this.batchSize = batchSize;
  }

  /** A denoising autoencoder, {@code epochs} epochs (federated: rounds) on rows corrupted by {@code noise}. */
  public static Pretraining denoisingAutoencoder(int epochs, Corruption noise) {
    return new Pretraining(epochs, noise, 0);
  }

  /**
   * These settings with pretraining's own mini-batch size (sync: global; average: per local step;
   * 0 = the supervised run's); federated runs use their local batch.
   */
  public Pretraining withBatchSize(int v) {
    return new Pretraining(epochs, noise, v);
  }

  public Method method() { return Method.DENOISING_AUTOENCODER; }
  /** Epochs of pretraining (federated: rounds). */
  public int epochs() { return epochs; }
  public Corruption noise() { return noise; }
  /** Pretraining's batch size, or 0 for the supervised run's. */
  public int batchSize() { return batchSize; }

  /** Key-value view, for run summaries. */
  public Map<String, Object> toMap() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("method", "denoising_autoencoder");
    m.put("epochs", epochs);
    m.put("noise", noise.toString());
    if (batchSize > 0) {
      m.put("batch_size", batchSize);
    }
    return m;
  }

  @Override
  public String toString() {
    return "Pretraining" + toMap();
  }

  /** The reconstruction run's configuration for a supervised run of {@code supervised} (see the class comment). */
  public TrainConfig config(TrainConfig supervised) {
    TrainConfig.Builder b = supervised.toBuilder().epochs(epochs).maxRounds(0).teacher(null).reconstruction(noise)
        .checkpoint(CheckpointSettings.none()).earlyStopping(EarlyStoppingSettings.off()).validateEveryRounds(0);
    if (batchSize > 0) {
      b.batchSize(batchSize);
    }
    return b.build();
  }

  /**
   * Pretrains {@code network}'s hidden layers on {@code data}'s features (labeled or not; labels are not
   * read) with the round loop of {@code supervised}'s mode and engine; {@code listeners} see its rounds
   * and epochs.
   */
  public Result run(Network network, TrainConfig supervised, TrainingData data, TrainingListener... listeners) {
    Network ae = Autoencoder.of(network);
    TrainConfig cfg = config(supervised);
    LOG.info("sparktrain: pretraining the hidden layers of {} as the denoising autoencoder {} ({} epochs, noise {},"
        + " {} rows)", network, ae, epochs, noise, data.rows());
    Trainer t = new Trainer(ae, cfg);
    for (TrainingListener l : listeners) t.addListener(l);
    TrainResult r = t.fit(data, null);
    return result(network, ae, r.params(), r.inputScaling(), r.history(), "epoch", data.rows(), r.trainSeconds(),
        supervised.seed());
  }

  /**
   * The result of a reconstruction run of {@link Autoencoder#of}({@code network}) with these settings
   * ({@code unit}: "epoch" or, federated, "round", the history's records that carry the loss).
   */
  public Result result(Network network, Network autoencoder, float[] params, InputScaling inputScaling,
      MetricsHistory history, String unit, long rows, double seconds, long seed) {
    return new Result(this, network, autoencoder, params, inputScaling, history, unit, rows, seconds, seed);
  }

  /** What pretraining produced: the autoencoder's parameters, the scaling it learned on, its loss history. */
  public static final class Result {
    private final Pretraining settings;
    private final Network network;
    private final Network autoencoder;
    private final float[] params;
    private final InputScaling inputScaling;
    private final MetricsHistory history;
    private final String unit;
    private final long rows;
    private final double seconds;
    private final long seed;

    Result(Pretraining settings, Network network, Network autoencoder, float[] params, InputScaling inputScaling,
        MetricsHistory history, String unit, long rows, double seconds, long seed) {
      this.settings = settings;
      this.network = network;
      this.autoencoder = autoencoder;
      this.params = params;
      this.inputScaling = inputScaling;
      this.history = history;
      this.unit = unit;
      this.rows = rows;
      this.seconds = seconds;
      this.seed = seed;
    }

    /** The mirrored autoencoder that was trained. */
    public Network autoencoder() { return autoencoder; }
    /** The autoencoder's final parameters (a copy). */
    public float[] params() { return params.clone(); }
    /** The scaling the encoder learned on (null when not standardizing); give it to the supervised fit. */
    public InputScaling inputScaling() { return inputScaling; }
    /** The reconstruction run's round and epoch records. */
    public MetricsHistory history() { return history; }

    /**
     * The supervised network's starting parameters: its hidden layers from the encoder, its output
     * layer fresh from the supervised run's seed ({@link Autoencoder#initialParams}).
     */
    public float[] initialParams() {
      return Autoencoder.initialParams(network, params, seed);
    }

    /** The mean reconstruction loss (MSE) of each epoch (federated: each round), in order. */
    public List<Double> losses() {
      List<Double> out = new ArrayList<>();
      for (Map<String, Object> r : history.records(unit)) out.add(((Number) r.get("loss")).doubleValue());
      return out;
    }

    /** Key-value view, for run summaries: the settings, the autoencoder, rows, losses, seconds. */
    public Map<String, Object> toMap() {
      Map<String, Object> m = new LinkedHashMap<>(settings.toMap());
      m.put("autoencoder", autoencoder.toString());
      m.put("rows", rows);
      m.put("standardized", inputScaling != null);
      m.put(unit.equals("epoch") ? "epoch_losses" : "round_losses", losses());
      m.put("train_s", seconds);
      return m;
    }
  }
}
