package io.sparktrain.driver;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sparktrain.driver.config.ConfigException;
import io.sparktrain.export.OnnxExport;
import io.sparktrain.ml.NeuralNetModel;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code sparktrain export --model DIR --format onnx [--quantize int8] --output FILE}: a saved model as an ONNX file
 * ({@link OnnxExport}). When the model directory is a run's {@code model/}, the run's training
 * config ({@code summary.json}'s {@code config}, without its {@code spark} section, whose conf may
 * hold credentials) goes into the metadata as {@code sparktrain.training_config}.
 */
@Command(name = "export", mixinStandardHelpOptions = true,
    description = {"Export a saved model to another format: ONNX (opset " + OnnxExport.OPSET + "), input",
        "\"features\" float[N, D], outputs \"probability\" and \"prediction\" (see the README)."})
final class ExportCommand implements Callable<Integer> {
  static final String FORMAT = "onnx";

  @Option(names = {"-m", "--model"}, required = true, paramLabel = "DIR",
      description = "A model directory written by train (output.dir/model).")
  String model;

  @Option(names = "--format", paramLabel = "FORMAT", defaultValue = FORMAT,
      description = "onnx (default: ${DEFAULT-VALUE}).")
  String format;

  @Option(names = "--quantize", paramLabel = "none|int8", defaultValue = "none",
      description = "int8: post-training int8 kernels, one scale per output channel, symmetric (about a quarter"
          + " of the size); none (default) keeps float32.")
  String quantize;

  @Option(names = {"-o", "--output"}, required = true, paramLabel = "FILE",
      description = "The file to write (a local path), e.g. model.onnx; written whole or not at all.")
  String output;

  @Option(names = "--master", paramLabel = "URL",
      description = "spark.master when not set already (e.g. by spark-submit); default local[*].")
  String master;

  @Override
  public Integer call() throws Exception {
    if (!FORMAT.equals(format.toLowerCase(Locale.ROOT))) {
      throw new ConfigException("--format: expected onnx, found " + format);
    }
    OnnxExport.Weights weights;
    switch (quantize.toLowerCase(Locale.ROOT)) {
      case "none":
        weights = OnnxExport.Weights.FLOAT32;
        break;
      case "int8":
        weights = OnnxExport.Weights.INT8;
        break;
      default:
        throw new ConfigException("--quantize: expected none or int8, found " + quantize);
    }
    Path out = Path.of(output);
    if (Files.isDirectory(out)) {
      throw new ConfigException("--output: expected a file path, found the directory " + out.toAbsolutePath());
    }
    PrintStream stdout = Main.Streams.out();
    Map<String, String> meta = new LinkedHashMap<>();
    Path summary = Path.of(model).toAbsolutePath().normalize().resolveSibling("summary.json");
    if (Files.isRegularFile(summary)) {
      JsonNode config = new ObjectMapper().readTree(summary.toFile()).get("config");
      if (config != null) {
        if (config instanceof ObjectNode) {
          ((ObjectNode) config).remove("spark");   // its conf may hold credentials (spark.hadoop.*)
        }
        meta.put("sparktrain.training_config", config.toString());
      }
    }
    try (SparkSupport.Session session = SparkSupport.session("sparktrain export", master, null)) {
      NeuralNetModel<?> m = ModelInput.load(session.spark, model);
      m.exportOnnx(out, meta, weights);
    }
    stdout.println(String.format(Locale.ROOT, "onnx: %s (%d bytes, opset %d, %s kernels)", out.toAbsolutePath(),
        Files.size(out), OnnxExport.OPSET, weights == OnnxExport.Weights.INT8 ? "int8" : "float32"));
    return 0;
  }
}
