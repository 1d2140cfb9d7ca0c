package io.sparktrain.driver;

import io.sparktrain.data.InputSpec;
import io.sparktrain.data.TrainingData;
import io.sparktrain.eval.ClassificationMetrics;
import io.sparktrain.eval.Evaluator;
import io.sparktrain.eval.RegressionMetrics;
import io.sparktrain.ml.NeuralNetClassificationModel;
import io.sparktrain.ml.NeuralNetModel;
import io.sparktrain.train.MetricsHistory;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code sparktrain evaluate --model DIR --data PATH}: the model's metrics on labelled data. */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
    description = {"Evaluate a saved model on labelled data: prints the metrics as JSON, then",
        "\"accuracy 0.8912\" (classification) or \"rmse 0.123\" (regression); --output also writes the JSON."})
final class EvaluateCommand implements Callable<Integer> {
  @Mixin
  ModelInput input;

  @Option(names = "--label", paramLabel = "COL", defaultValue = "label", description = "The label column"
      + " (default: ${DEFAULT-VALUE}).")
  String label;

  @Option(names = "--weight", paramLabel = "COL", description = "An optional example-weight column.")
  String weight;

  @Option(names = {"-o", "--output"}, paramLabel = "FILE", description = "Also write the metrics JSON here.")
  String output;

  @Override
  public Integer call() throws Exception {
    input.check();
    PrintStream out = Main.Streams.out();
    try (SparkSupport.Session session = SparkSupport.session("sparktrain evaluate", input.master, null)) {
      NeuralNetModel<?> model = input.load(session.spark);
      boolean classification = model instanceof NeuralNetClassificationModel;
      List<String> cols = input.featureCols(model);
      InputSpec spec = classification ? InputSpec.classification(cols.get(0), label)
          .withNumClasses(((NeuralNetClassificationModel) model).getNumClasses())
          : InputSpec.regression(cols.get(0), label);
      spec = spec.withCategorical(model.categoricalColumns());
      if (model.numFeatures() == 0) {
        spec = spec.withFeatureColumns(); // the model's inputs are all categorical
      } else if (cols.size() > 1) {
        spec = spec.withFeatureColumns(ModelInput.array(cols));
      }
      if (weight != null) {
        spec = spec.withWeightCol(weight);
      }
      spec = spec.withNumFeatures(model.numFeatures());
      TrainingData raw = TrainingData.decode(input.read(session.spark), spec);
      // The model's standardization (when it has one) applied once to the decoded blocks.
      TrainingData data = model.inputScaling() == null ? raw : raw.scaled(model.inputScaling());
      try {
        String json;
        String line;
        if (classification) {
          ClassificationMetrics m = Evaluator.classification(data.blocks(), model.network(), model.parameters(), 2);
          json = m.toJson();
          line = String.format(Locale.ROOT, "accuracy %.4f", m.accuracy());
        } else {
          RegressionMetrics m = Evaluator.regression(data.blocks(), model.network(), model.parameters(), 2);
          json = m.toJson();
          line = String.format(Locale.ROOT, "rmse %.4g", m.rmse());
        }
        out.println(json);
        out.println(line);
        if (output != null) {
          MetricsHistory.writeAtomically(output, (json + "\n").getBytes(StandardCharsets.UTF_8), session.hadoopConf());
          out.println("metrics: " + SparkSupport.display(output, session.hadoopConf()));
        }
      } finally {
        data.unpersist();
        raw.unpersist();
      }
    }
    return Main.OK;
  }
}
