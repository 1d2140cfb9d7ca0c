package io.sparktrain.examples;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.federated.FederatedConfig;
import io.sparktrain.federated.FederatedResult;
import io.sparktrain.federated.FederatedTrainer;
import io.sparktrain.federated.SiloSummary;
import io.sparktrain.federated.Silos;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.optim.OptimizerSpec;
import java.util.Locale;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.SparkSession;

/**
 * Federated averaging over non-IID silos: Fashion-MNIST split into 20 silos by Dirichlet(0.3)
 * label skew, FedAvg (C = 0.25, E = 2, B = 32, client SGD) for 30 rounds, then the same with
 * FedProx (mu = 0.1). Prints the silo summary, test accuracy and the locality audit
 * ("rows moved during training: 0"). Run: {@code scripts/example.sh FederatedNonIid}.
 */
public final class FederatedNonIid {
  private FederatedNonIid() {
  }

  public static void main(String[] args) {
    String dir = args.length > 0 ? args[0] : "data/fashion-mnist";
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 30;
    SparkSession spark = SparkSession.builder().master("local[*]").appName("federated-non-iid")
        .config("spark.driver.host", "127.0.0.1").config("spark.ui.enabled", "false").getOrCreate();
    try {
      InputSpec spec = InputSpec.classification("features", "label").withNumClasses(10);
      // Simulation: rows move once, here, to build the silos; training then never moves a row.
      Dataset<Row> siloed = Silos.partition(FashionMnist.load(spark, dir, "train"), "label", Silos.Split.DIRICHLET,
          20, 0.3, 1);
      TrainingData silos = TrainingData.decode(siloed, spec);
      TrainingData test = TrainingData.decode(FashionMnist.load(spark, dir, "test").coalesce(2), spec);
      System.out.println(SiloSummary.of(silos, 10).describe(5));
      Network net = Network.builder(784).dense(128, Activation.RELU).dense(10, Activation.SOFTMAX)
          .loss(Loss.SOFTMAX_CROSS_ENTROPY).build();
      for (float mu : new float[] {0f, 0.1f}) {
        FederatedConfig cfg = FederatedConfig.builder().rounds(rounds).clientFraction(0.25).localEpochs(2)
            .localBatch(32).proxMu(mu).localOptimizer(OptimizerSpec.sgd().learningRate(0.05).build())
            .evalEveryRounds(10).logEveryRounds(10).seed(1).build();
        FederatedResult r = new FederatedTrainer(net, cfg).fit(silos, test);
        System.out.printf(Locale.ROOT, "%s: test accuracy %.4f after %d rounds, %.1f s; audit %s%n",
            cfg.algorithmName(), r.finalValidation().get("val_accuracy"), r.rounds(), r.trainSeconds(), r.audit());
      }
    } finally {
      spark.stop();
    }
  }
}
