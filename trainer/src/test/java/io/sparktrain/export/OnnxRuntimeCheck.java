package io.sparktrain.export;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import java.util.Map;

/**
 * A child JVM for {@link OnnxExportTest}: loads an ONNX file in ONNX Runtime at warning level (its
 * log goes to this process's stderr), runs two rows of {@code args[1]} features and prints
 * {@code ok <n> outputs}.
 */
public final class OnnxRuntimeCheck {
  private OnnxRuntimeCheck() {
  }

  public static void main(String[] args) throws Exception {
    int d = Integer.parseInt(args[1]);
    OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING, "check");
    try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
      so.setSessionLogLevel(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
      try (OrtSession s = env.createSession(args[0], so);
           OnnxTensor t = OnnxTensor.createTensor(env, new float[2][d]);
           OrtSession.Result r = s.run(Map.of(OnnxExport.INPUT, t))) {
        float[][] p = (float[][]) r.get(OnnxExport.PROBABILITY).get().getValue();
        System.out.println("ok " + p[0].length + " outputs");
      }
    }
  }
}
