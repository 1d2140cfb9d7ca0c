package io.sparktrain.export;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.TypeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.ByteString;
import io.sparktrain.Version;
import io.sparktrain.data.InputScaling;
import io.sparktrain.eval.Predictions;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.LayerSpec;
import io.sparktrain.nn.Network;
import io.sparktrain.nn.ParameterLayout;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A trained network as an ONNX model (opset {@value #OPSET}, IR version 8), built with the ONNX
 * protobuf classes of {@code org.tribuo:tribuo-util-onnx}.
 *
 * <p>The graph has one input, {@code features}: float32 [N, D] with a dynamic batch dimension N
 * (the numeric features in the model's column order; the model's standardization, when it has one,
 * is the graph's first two nodes, {@code (x - shift) * scale}). Every dense layer is a {@code Gemm}
 * (kernel [in, out], bias [out]) followed by its activation: Relu, LeakyRelu(alpha), Sigmoid, Tanh,
 * Softmax(axis 1), nothing for identity, and GELU in its tanh form
 * {@code 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))} from Mul, Add and Tanh (opset 17 has no
 * Gelu; this is the form sparktrain trains). Outputs:
 * <ul>
 *   <li>classifier with K softmax outputs (or K logits trained with softmax cross-entropy):
 *       {@code probability} float32 [N, K] and {@code prediction} int64 [N], the class of largest
 *       probability, lowest index on ties (ArgMax), as {@code transform} gives;
 *   <li>binary classifier (one sigmoid unit, or one logit trained with binary cross-entropy):
 *       {@code probability} float32 [N, 1], the probability of class 1, and {@code prediction}
 *       int64 [N], 1 when it is above 1 - p (p above one half), as {@code transform} gives;
 *   <li>regression: {@code prediction} float32 [N, T], the output layer's activations.
 * </ul>
 * The metadata ({@code metadata_props}) carries the sparktrain version, the task, the feature,
 * class and output counts, the architecture, whether the input is standardized, and whatever the
 * caller adds (the training config).
 *
 * <p>With {@link Weights#INT8} the kernels are stored as int8 with per-output-channel scales.
 *
 * <p>Refused, with an error naming the part: categorical embedding tables (their hashing of
 * strings has no standard ONNX op).
 */
public final class OnnxExport {
  /** The ONNX opset of the default domain the graph uses. */
  public static final int OPSET = 17;
  /** The ONNX IR version: 8 is the first that opset 17 allows. */
  public static final long IR_VERSION = 8;
  public static final String INPUT = "features";
  public static final String PROBABILITY = "probability";
  public static final String PREDICTION = "prediction";
  /** The {@code producer_name} of every model this class writes. */
  public static final String PRODUCER = "sparktrain";
  /** Metadata key: {@code classification}, {@code binary_classification} or {@code regression}. */
  public static final String META_TASK = "sparktrain.task";
  /** Metadata key: {@link Network#architecture()}. */
  public static final String META_ARCHITECTURE = "sparktrain.architecture";
  /** Metadata key: {@code true} when the graph starts with the standardization. */
  public static final String META_STANDARDIZED = "sparktrain.standardized";
  /** Metadata key: {@link Weights#metadata()}. */
  public static final String META_WEIGHTS = "sparktrain.weights";
  public static final String META_NUM_FEATURES = "sparktrain.num_features";
  public static final String META_NUM_CLASSES = "sparktrain.num_classes";
  public static final String META_NUM_OUTPUTS = "sparktrain.num_outputs";

  private static final float GELU_C = 0.044715f;
  private static final float SQRT_2_OVER_PI = (float) Math.sqrt(2.0 / Math.PI);

  private OnnxExport() {
  }

  /** The ONNX model of {@code net} with parameters {@code params} (see the class comment). */
  public static ModelProto model(Network net, float[] params, InputScaling scaling, boolean classifier,
      Map<String, String> metadata) {
    return model(net, params, scaling, classifier, Weights.FLOAT32, metadata);
  }

  /** How the kernels are stored. */
  public enum Weights {
    /** float32, as trained. */
    FLOAT32("float32"),
    /**
     * Post-training int8: each kernel [in, out] as int8 with one float32 scale per output channel
     * (column), symmetric (zero point 0): {@code s_j = max_i |W_ij| / 127}, {@code q_ij =
     * round(W_ij / s_j)}; a {@code DequantizeLinear(axis 1)} before its Gemm. Biases, the
     * standardization and the activations stay float32, so no calibration data is needed. About a
     * quarter of the float32 file.
     */
    INT8("int8 kernels, per output channel, symmetric (DequantizeLinear); float32 biases");

    private final String metadata;

    Weights(String metadata) {
      this.metadata = metadata;
    }

    /** The value of {@value OnnxExport#META_WEIGHTS} in a model stored this way. */
    public String metadata() {
      return metadata;
    }
  }

  /** As {@link #model(Network, float[], InputScaling, boolean, Map)}, with the kernels stored as {@code weights}. */
  public static ModelProto model(Network net, float[] params, InputScaling scaling, boolean classifier,
      Weights weights, Map<String, String> metadata) {
    net.layout().check(params, "onnx export: parameters");
    if (net.categorical() > 0) {
      throw new IllegalArgumentException("onnx export: the model has " + net.categorical() + " categorical"
          + " embedding table(s) (" + net.architecture() + "); ONNX export supports numeric features only");
    }
    if (classifier && !Predictions.isClassifier(net)) {
      throw new IllegalArgumentException("onnx export: expected a classifier network (K softmax outputs or one"
          + " sigmoid unit), found " + net.architecture());
    }
    if (scaling != null && scaling.size() != net.inputs()) {
      throw new IllegalArgumentException("onnx export: input scaling of " + scaling.size() + " features, expected "
          + net.inputs());
    }
    Graph g = new Graph();
    g.input(INPUT, net.inputs());
    String x = INPUT;
    if (scaling != null) {
      x = g.node("Sub", "standardize_sub", List.of(x, g.tensor("standardize_shift", scaling.shift(),
          net.inputs())));
      x = g.node("Mul", "standardize", List.of(x, g.tensor("standardize_scale", scaling.scale(), net.inputs())));
    }
    ParameterLayout layout = net.layout();
    for (int l = 0; l < net.depth(); l++) {
      LayerSpec spec = net.layer(l);
      ParameterLayout.Entry k = layout.kernel(l);
      ParameterLayout.Entry b = layout.bias(l);
      String name = "dense_" + l;
      String kernel = weights == Weights.INT8 ? g.int8Kernel(name + "/kernel", params, k.offset(), k.shape()[0],
          k.shape()[1]) : g.tensor(name + "/kernel", params, k.offset(), k.shape());
      x = g.node("Gemm", name, List.of(x, kernel, g.tensor(name + "/bias", params, b.offset(), b.shape())));
      x = activation(g, spec.activation(), name, x);
    }
    boolean binary = classifier && Predictions.numClasses(net) == 2 && net.outputs() == 1;
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("sparktrain.version", Version.get());
    meta.put(META_TASK, classifier ? (binary ? "binary_classification" : "classification") : "regression");
    meta.put(META_NUM_FEATURES, Integer.toString(net.inputs()));
    if (classifier) {
      meta.put(META_NUM_CLASSES, Integer.toString(Predictions.numClasses(net)));
    }
    meta.put(META_NUM_OUTPUTS, Integer.toString(net.outputs()));
    meta.put(META_ARCHITECTURE, net.architecture());
    meta.put(META_STANDARDIZED, Boolean.toString(scaling != null));
    meta.put(META_WEIGHTS, weights.metadata());
    if (!classifier) {
      g.output(g.node("Identity", PREDICTION, List.of(x)), PREDICTION, TensorProto.DataType.FLOAT, net.outputs());
    } else if (binary) {
      String p = net.outputLayer().activation().kind() == Activation.Kind.SIGMOID ? x
          : g.node("Sigmoid", "probability_of_1", List.of(x));
      g.output(g.node("Identity", PROBABILITY, List.of(p)), PROBABILITY, TensorProto.DataType.FLOAT, 1);
      // transform's rule: the probabilities (1 - p, p), the larger wins, class 0 on a tie.
      String q = g.node("Sub", "probability_of_0", List.of(g.scalar("one", 1f), p));
      String both = g.node("Concat", "class_probabilities", List.of(q, p), intAttr("axis", 1));
      g.output(g.node("ArgMax", PREDICTION, List.of(both), intAttr("axis", 1), intAttr("keepdims", 0)),
          PREDICTION, TensorProto.DataType.INT64, -1);
    } else {
      Activation.Kind last = net.outputLayer().activation().kind();
      String p = last == Activation.Kind.SOFTMAX ? x : g.node("Softmax", "softmax", List.of(x), intAttr("axis", 1));
      g.output(g.node("Identity", PROBABILITY, List.of(p)), PROBABILITY, TensorProto.DataType.FLOAT,
          net.outputs());
      g.output(g.node("ArgMax", PREDICTION, List.of(p), intAttr("axis", 1), intAttr("keepdims", 0)),
          PREDICTION, TensorProto.DataType.INT64, -1);
    }
    if (metadata != null) {
      meta.putAll(metadata);
    }
    ModelProto.Builder m = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET))
        .setProducerName(PRODUCER)
        .setProducerVersion(Version.get())
        .setDomain("io.sparktrain")
        .setModelVersion(1)
        .setDocString("sparktrain " + (classifier ? "classifier" : "regressor") + ": " + net.architecture())
        .setGraph(g.build("sparktrain_" + (classifier ? "classifier" : "regressor")));
    meta.forEach((key, v) -> m.addMetadataProps(StringStringEntryProto.newBuilder().setKey(key).setValue(v)));
    return m.build();
  }

  /**
   * Writes {@link #model} to {@code out}: a temporary file in the same directory, then a rename, so
   * {@code out} is the whole model or untouched.
   */
  public static void write(ModelProto model, Path out) throws IOException {
    Path abs = out.toAbsolutePath();
    Path dir = abs.getParent();
    if (dir != null) {
      Files.createDirectories(dir);
    }
    Path tmp = Files.createTempFile(dir, "." + abs.getFileName() + ".", ".tmp");
    try {
      try {
        // createTempFile makes it rw------- and the rename keeps that: a model is for other users too.
        Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--"));
      } catch (UnsupportedOperationException e) {
        // not a POSIX file system: its defaults stand
      }
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE);
           OutputStream os = Channels.newOutputStream(ch)) {
        model.writeTo(os);
        os.flush();
        ch.force(true);
      }
      try {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      } catch (AtomicMoveNotSupportedException e) {
        Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING);
      }
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  /**
   * The int8 form of a kernel {@code w[off, off + in * out)} (row-major [in, out]): the int8 values
   * {@code q} (same layout) and one scale per output channel, as {@link Weights#INT8} describes.
   */
  public static float[] quantizeInt8(float[] w, int off, int in, int out, byte[] q) {
    float[] scale = new float[out];
    for (int i = 0; i < in; i++) {
      for (int j = 0; j < out; j++) scale[j] = Math.max(scale[j], Math.abs(w[off + i * out + j]));
    }
    for (int j = 0; j < out; j++) scale[j] = scale[j] > 0f ? scale[j] / 127f : 1f;
    for (int i = 0; i < in; i++) {
      for (int j = 0; j < out; j++) {
        q[i * out + j] = (byte) Math.max(-127, Math.min(127, Math.round(w[off + i * out + j] / scale[j])));
      }
    }
    return scale;
  }

  /**
   * A copy of {@code params} whose kernels are what an {@link Weights#INT8} model computes with:
   * each value quantized and dequantized ({@code q_ij * s_j}, in float32, as DequantizeLinear does).
   */
  public static float[] int8Dequantized(Network net, float[] params) {
    float[] p = params.clone();
    for (int l = 0; l < net.depth(); l++) {
      ParameterLayout.Entry k = net.layout().kernel(l);
      int in = k.shape()[0];
      int out = k.shape()[1];
      byte[] q = new byte[in * out];
      float[] s = quantizeInt8(params, k.offset(), in, out, q);
      for (int i = 0; i < in; i++) {
        for (int j = 0; j < out; j++) p[k.offset() + i * out + j] = q[i * out + j] * s[j];
      }
    }
    return p;
  }

  private static String activation(Graph g, Activation a, String layer, String x) {
    switch (a.kind()) {
      case IDENTITY:
        return x;
      case RELU:
        return g.node("Relu", layer + "/relu", List.of(x));
      case LEAKY_RELU:
        return g.node("LeakyRelu", layer + "/leaky_relu", List.of(x), floatAttr("alpha", a.alpha()));
      case SIGMOID:
        return g.node("Sigmoid", layer + "/sigmoid", List.of(x));
      case TANH:
        return g.node("Tanh", layer + "/tanh", List.of(x));
      case SOFTMAX:
        return g.node("Softmax", layer + "/softmax", List.of(x), intAttr("axis", 1));
      case GELU: {
        String p = layer + "/gelu";
        String x3 = g.node("Mul", p + "/x3", List.of(g.node("Mul", p + "/x2", List.of(x, x)), x));
        String inner = g.node("Add", p + "/inner", List.of(x, g.node("Mul", p + "/cx3",
            List.of(x3, g.scalar("gelu_c", GELU_C)))));
        String t = g.node("Tanh", p + "/tanh", List.of(g.node("Mul", p + "/scaled",
            List.of(inner, g.scalar("gelu_sqrt_2_over_pi", SQRT_2_OVER_PI)))));
        String half = g.node("Mul", p + "/half_x", List.of(x, g.scalar("half", 0.5f)));
        return g.node("Mul", p, List.of(half, g.node("Add", p + "/one_plus_tanh", List.of(t, g.scalar("one", 1f)))));
      }
      default:
        throw new IllegalArgumentException("onnx export: activation " + a + " of " + layer + " has no ONNX form");
    }
  }

  private static AttributeProto intAttr(String name, long v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(v).build();
  }

  private static AttributeProto floatAttr(String name, float v) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.FLOAT).setF(v).build();
  }

  /** The graph under construction: nodes in order, initializers by name (a scalar is made once). */
  private static final class Graph {
    private final GraphProto.Builder g = GraphProto.newBuilder();
    private final Map<String, String> scalars = new LinkedHashMap<>();

    void input(String name, int width) {
      g.addInput(valueInfo(name, TensorProto.DataType.FLOAT, width));
    }

    /** Declares {@code tensor} as the graph output {@code name}: [N, width], or [N] when width is -1. */
    void output(String tensor, String name, TensorProto.DataType type, int width) {
      if (!tensor.equals(name)) {
        throw new AssertionError("output " + name + " is tensor " + tensor);
      }
      g.addOutput(valueInfo(name, type, width));
    }

    /** Adds node {@code op} named {@code name} whose one output tensor is also called {@code name}. */
    String node(String op, String name, List<String> inputs, AttributeProto... attrs) {
      NodeProto.Builder n = NodeProto.newBuilder().setOpType(op).setName(name).addAllInput(inputs).addOutput(name);
      for (AttributeProto a : attrs) {
        n.addAttribute(a);
      }
      g.addNode(n);
      return name;
    }

    String tensor(String name, float[] values, int width) {
      return tensor(name, values, 0, new int[] {width});
    }

    /** An initializer: {@code values[offset, offset + prod(shape))}, row-major, as little-endian raw data. */
    String tensor(String name, float[] values, int offset, int[] shape) {
      TensorProto.Builder t = TensorProto.newBuilder().setName(name)
          .setDataType(TensorProto.DataType.FLOAT.getNumber());
      int size = 1;
      for (int d : shape) {
        t.addDims(d);
        size = Math.multiplyExact(size, d);
      }
      ByteBuffer buf = ByteBuffer.allocate(Math.multiplyExact(size, Float.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
      buf.asFloatBuffer().put(values, offset, size);
      g.addInitializer(t.setRawData(ByteString.copyFrom(buf.array())));
      return name;
    }

    /**
     * An int8 kernel: the int8 initializer, its per-column scales and zero points, and the
     * DequantizeLinear node that gives the float32 kernel; returns that node's output.
     */
    String int8Kernel(String name, float[] values, int offset, int in, int out) {
      byte[] q = new byte[in * out];
      float[] scale = quantizeInt8(values, offset, in, out, q);
      g.addInitializer(TensorProto.newBuilder().setName(name + "_int8").setDataType(TensorProto.DataType.INT8
          .getNumber()).addDims(in).addDims(out).setRawData(ByteString.copyFrom(q)));
      String s = tensor(name + "_scale", scale, out);
      g.addInitializer(TensorProto.newBuilder().setName(name + "_zero_point").setDataType(TensorProto.DataType.INT8
          .getNumber()).addDims(out).setRawData(ByteString.copyFrom(new byte[out])));
      return node("DequantizeLinear", name, List.of(name + "_int8", s, name + "_zero_point"), intAttr("axis", 1));
    }

    /** A float32 scalar initializer (rank 0), shared by name. */
    String scalar(String name, float v) {
      String key = name + "=" + Float.floatToIntBits(v);
      String have = scalars.get(key);
      if (have != null) {
        return have;
      }
      if (scalars.containsValue(name)) {
        throw new AssertionError("two scalars named " + name);
      }
      g.addInitializer(TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT.getNumber())
          .addFloatData(v));
      scalars.put(key, name);
      return name;
    }

    GraphProto build(String name) {
      return g.setName(name).build();
    }

    private static ValueInfoProto valueInfo(String name, TensorProto.DataType type, int width) {
      TensorShapeProto.Builder shape = TensorShapeProto.newBuilder()
          .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam("N"));
      if (width >= 0) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width));
      }
      return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(
          TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape))).build();
    }
  }
}
