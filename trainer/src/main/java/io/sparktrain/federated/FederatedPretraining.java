package io.sparktrain.federated;

import io.sparktrain.data.TrainingData;
import io.sparktrain.nn.Autoencoder;
import io.sparktrain.nn.Network;
import io.sparktrain.train.CheckpointSettings;
import io.sparktrain.train.EarlyStoppingSettings;
import io.sparktrain.train.Pretraining;
import io.sparktrain.train.TrainingListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Pretraining} in a federated run: the denoising autoencoder is trained by the federated loop
 * ({@link FederatedTrainer} in reconstruction mode, {@link FederatedConfig#reconstruction()}), each
 * sampled silo on its own rows, whose labels are not read; only model-sized updates leave the silos,
 * as in supervised rounds. The supervised run then starts from {@link Pretraining.Result#initialParams()}
 * ({@link FederatedTrainer#fit(TrainingData, TrainingData, float[])}).
 */
public final class FederatedPretraining {
  private static final Logger LOG = LoggerFactory.getLogger(FederatedPretraining.class);

  private FederatedPretraining() {
  }

  /**
   * The reconstruction run's configuration for a supervised run of {@code supervised}: {@code settings}'
   * epochs as rounds, the same sampling, local work, server rule and privacy options, no checkpoints,
   * early stopping, evaluation or distillation. DP is refused: the pretraining rounds' privacy cost
   * would not be part of the supervised run's accounting.
   */
  public static FederatedConfig config(Pretraining settings, FederatedConfig supervised) {
    return supervised.toBuilder().rounds(settings.epochs()).teacher(null).reconstruction(settings.noise())
        .checkpoint(CheckpointSettings.none()).earlyStopping(EarlyStoppingSettings.off()).evalEveryRounds(0)
        .build();
  }

  /** Pretrains {@code network}'s hidden layers on the silos of {@code silos} (one per partition). */
  public static Pretraining.Result run(Pretraining settings, Network network, FederatedConfig supervised,
      TrainingData silos, TrainingListener... listeners) {
    Network ae = Autoencoder.of(network);
    FederatedConfig cfg = config(settings, supervised);
    LOG.info("sparktrain federated: pretraining the hidden layers of {} as the denoising autoencoder {} ({} rounds,"
        + " noise {}, {} silos)", network, ae, settings.epochs(), settings.noise(), silos.numPartitions());
    FederatedTrainer t = new FederatedTrainer(ae, cfg);
    for (TrainingListener l : listeners) t.addListener(l);
    FederatedResult r = t.fit(silos, null);
    return settings.result(network, ae, r.params(), null, r.history(), "round", silos.rows(), r.trainSeconds(),
        supervised.seed());
  }
}
