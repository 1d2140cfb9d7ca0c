package io.sparktrain.serve;

import io.sparktrain.eval.Predictions;
import io.sparktrain.export.OnnxExport;
import io.sparktrain.linalg.Blas;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Scores a CSV with a saved model, without Spark:
 * <pre>
 * java -cp sparktrain-trainer.jar:blas-3.2.0.jar:arpack_combined_all-0.1.jar:slf4j-api.jar \
 *     io.sparktrain.serve.PredictCsv [--quantize none|int8] MODEL &lt; rows.csv
 * </pre>
 * MODEL is a saved model directory or an ONNX file sparktrain's export wrote ({@link Predictor#load(Path)};
 * for an ONNX file add {@code protobuf-java.jar:tribuo-util-onnx.jar} to the classpath).
 * {@code --quantize int8} serves the model with int8-quantized kernels, as {@code sparktrain export
 * --quantize int8} writes them ({@link Predictor#load(Path, OnnxExport.Weights)}: the int8 file's
 * outputs, computed in float32); {@code none} (the default) serves it as stored.
 * Each input line holds one row's {@code numFeatures} numbers, comma-separated (no header); each
 * output line holds the row's outputs ({@link Predictor#predict(float[])}), then for a classifier
 * its class. stderr gets one line naming the model and the BLAS in use (without an slf4j binding
 * nothing else reports it). Exit code 2 for a usage or input error, with one line on stderr.
 */
public final class PredictCsv {
  private PredictCsv() {
  }

  public static void main(String[] args) throws IOException {
    OnnxExport.Weights weights = null;
    int at = 0;
    if (args.length == 3 && args[0].equals("--quantize")) {
      switch (args[1].toLowerCase(Locale.ROOT)) {
        case "none":
          break;
        case "int8":
          weights = OnnxExport.Weights.INT8;
          break;
        default:
          System.err.println("PredictCsv: --quantize: expected none or int8, found " + args[1]);
          System.exit(2);
          return;
      }
      at = 2;
    }
    if (args.length != at + 1 || args[at].startsWith("--")) {
      System.err.println("usage: PredictCsv [--quantize none|int8] MODEL_DIR|MODEL.onnx < rows.csv");
      System.exit(2);
      return;
    }
    Predictor p;
    List<float[]> rows = new ArrayList<>();
    try {
      p = weights == null ? Predictor.load(Path.of(args[at])) : Predictor.load(Path.of(args[at]), weights);
      System.err.println("PredictCsv: " + p + ", BLAS " + Blas.get().describe());
      BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
      String line;
      for (int n = 1; (line = in.readLine()) != null; n++) {
        if (!line.isBlank()) {
          rows.add(parse(line, n, p.numFeatures()));
        }
      }
    } catch (IOException | IllegalArgumentException | IllegalStateException e) {
      System.err.println("PredictCsv: " + e.getMessage());
      System.exit(2);
      return;
    }
    // One batch call; the class from the same outputs (a single-row call could round differently).
    float[] packed = new float[rows.size() * p.numFeatures()];
    for (int r = 0; r < rows.size(); r++) {
      System.arraycopy(rows.get(r), 0, packed, r * p.numFeatures(), p.numFeatures());
    }
    float[] out = p.predict(packed, rows.size());
    PrintStream o = System.out;
    StringBuilder sb = new StringBuilder();
    for (int r = 0; r < rows.size(); r++) {
      sb.setLength(0);
      for (int j = 0; j < p.numOutputs(); j++) {
        sb.append(j == 0 ? "" : ",").append(out[r * p.numOutputs() + j]);
      }
      if (p.task() == Predictor.Task.CLASSIFICATION) {
        sb.append(',').append(Predictions.predictedClass(out, r * p.numOutputs(), p.numOutputs()));
      }
      o.println(sb);
    }
    o.flush();
  }

  private static float[] parse(String line, int n, int width) {
    String[] f = line.split(",", -1);
    if (f.length != width) {
      throw new IllegalArgumentException("line " + n + ": expected " + width + " comma-separated values (the"
          + " model's numFeatures), found " + f.length);
    }
    float[] row = new float[width];
    for (int j = 0; j < width; j++) {
      try {
        row[j] = Float.parseFloat(f[j].trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("line " + n + ", value " + (j + 1) + ": expected a number, found '"
            + f[j].trim() + "'", e);
      }
    }
    return row;
  }
}
