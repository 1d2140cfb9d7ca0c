package io.sparktrain.serve;

import ai.onnx.proto.OnnxMl.AttributeProto;
import ai.onnx.proto.OnnxMl.GraphProto;
import ai.onnx.proto.OnnxMl.ModelProto;
import ai.onnx.proto.OnnxMl.NodeProto;
import ai.onnx.proto.OnnxMl.OperatorSetIdProto;
import ai.onnx.proto.OnnxMl.StringStringEntryProto;
import ai.onnx.proto.OnnxMl.TensorProto;
import ai.onnx.proto.OnnxMl.TensorShapeProto;
import ai.onnx.proto.OnnxMl.ValueInfoProto;
import com.google.protobuf.InvalidProtocolBufferException;
import io.sparktrain.data.InputScaling;
import io.sparktrain.eval.Predictions;
import io.sparktrain.export.OnnxExport;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.nn.ParameterLayout;
import java.io.IOException;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Reads back an ONNX file that {@link OnnxExport} wrote: the network, its parameters, the input
 * scaling and how the kernels are stored, with the ONNX protobuf classes only (no Spark).
 *
 * <p><b>What it relies on, and checks.</b> The metadata gives the architecture
 * ({@value OnnxExport#META_ARCHITECTURE}: layers, activations, loss), the task, whether the input is
 * standardized and how the kernels are stored; the counts in the metadata must agree with the
 * architecture. The parameters are the initializers by name ({@code dense_<l>/kernel} [in, out] and
 * {@code dense_<l>/bias} [out]; for int8 kernels {@code dense_<l>/kernel_int8}, {@code _scale} and
 * {@code _zero_point}; {@code standardize_shift} and {@code standardize_scale}), each of the expected
 * type and shape. Then the graph is checked against the one the export writes for that network: the
 * same opset, inputs, outputs and nodes in the same order (operators, names, wiring, attributes), and
 * the same initializers (the constants equal). So the Predictor computes what the file's graph
 * computes, or refuses the file; a graph edited after the export (or written by another version of
 * the export that changed it) is refused, naming the first difference.
 *
 * <p>An int8 kernel is dequantized as ONNX Runtime's {@code DequantizeLinear} does it:
 * {@code (q - zero_point) * scale}, in float.
 */
final class OnnxFile {
  /** The initializer-name prefix of layer l's tensors. */
  private static final String LAYER = "dense_";
  private static final String SHIFT = "standardize_shift";
  private static final String SCALE = "standardize_scale";
  /** One layer of an architecture: {@code -<units> <activation>}. */
  private static final Pattern LAYER_TEXT = Pattern.compile("-([0-9]+) ([a-z_]+(?:\\([^)]*\\))?)");
  private static final Pattern INPUTS_TEXT = Pattern.compile("[0-9]+");

  /** What a file holds: the task, the network and its parameters (int8 kernels dequantized), the scaling. */
  record Contents(Predictor.Task task, Network network, float[] params, InputScaling scaling,
      OnnxExport.Weights weights) {
  }

  private final Path file;

  private OnnxFile(Path file) {
    this.file = file;
  }

  /**
   * Reads {@code file}.
   *
   * @throws IOException when it cannot be read, is not an ONNX model (truncated, say), or is a
   *     sparktrain model that lacks something or whose graph is not what the export writes; the error
   *     names the file, what was expected and what was found
   * @throws IllegalArgumentException when it is an ONNX model that sparktrain did not write
   */
  static Contents read(Path file) throws IOException {
    return new OnnxFile(file).read();
  }

  private Contents read() throws IOException {
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IOException(file + ": no such file", e);
    }
    ModelProto model;
    try {
      model = ModelProto.parseFrom(bytes);
    } catch (InvalidProtocolBufferException e) {
      throw new IOException(file + ": not a readable ONNX model (truncated, or not ONNX): " + e.getMessage(), e);
    }
    if (!model.hasGraph()) {
      throw new IOException(file + ": expected an ONNX model with a graph, found none (" + bytes.length
          + " bytes: truncated, or not ONNX)");
    }
    if (!OnnxExport.PRODUCER.equals(model.getProducerName())) {
      throw new IllegalArgumentException(file + ": expected an ONNX model written by sparktrain (producer_name '"
          + OnnxExport.PRODUCER + "'), found producer_name '" + model.getProducerName() + "'"
          + (model.getProducerVersion().isEmpty() ? "" : " version '" + model.getProducerVersion() + "'")
          + "; the Predictor reads only sparktrain's own export (run other models with ONNX Runtime)");
    }
    Map<String, String> meta = new LinkedHashMap<>();
    for (StringStringEntryProto e : model.getMetadataPropsList()) {
      if (meta.put(e.getKey(), e.getValue()) != null) {
        throw new IOException(file + ": expected each metadata key once, found '" + e.getKey() + "' twice");
      }
    }
    String architecture = required(meta, OnnxExport.META_ARCHITECTURE);
    Network net = network(architecture);
    Predictor.Task task;
    boolean binary = false;
    String taskText = required(meta, OnnxExport.META_TASK);
    switch (taskText) {
      case "classification":
        task = Predictor.Task.CLASSIFICATION;
        break;
      case "binary_classification":
        task = Predictor.Task.CLASSIFICATION;
        binary = true;
        break;
      case "regression":
        task = Predictor.Task.REGRESSION;
        break;
      default:
        throw new IOException(file + ": metadata " + OnnxExport.META_TASK + ": expected classification,"
            + " binary_classification or regression, found '" + taskText + "'");
    }
    boolean classifier = task == Predictor.Task.CLASSIFICATION;
    if (classifier) {
      if (!Predictions.isClassifier(net)) {
        throw new IOException(file + ": metadata " + OnnxExport.META_TASK + " is " + taskText + " but "
            + OnnxExport.META_ARCHITECTURE + " '" + architecture + "' is not a classifier network");
      }
      boolean oneUnit = Predictions.numClasses(net) == 2 && net.outputs() == 1;
      if (oneUnit != binary) {
        throw new IOException(file + ": metadata " + OnnxExport.META_TASK + ": expected "
            + (oneUnit ? "binary_classification" : "classification") + " for architecture '" + architecture
            + "', found " + taskText);
      }
      count(meta, OnnxExport.META_NUM_CLASSES, Predictions.numClasses(net), architecture);
    }
    count(meta, OnnxExport.META_NUM_FEATURES, net.inputs(), architecture);
    count(meta, OnnxExport.META_NUM_OUTPUTS, net.outputs(), architecture);
    boolean standardized = bool(meta, OnnxExport.META_STANDARDIZED);
    OnnxExport.Weights weights = weights(required(meta, OnnxExport.META_WEIGHTS));

    GraphProto g = model.getGraph();
    Map<String, TensorProto> init = new LinkedHashMap<>();
    for (TensorProto t : g.getInitializerList()) {
      if (init.put(t.getName(), t) != null) {
        throw new IOException(file + ": expected each initializer once, found '" + t.getName() + "' twice");
      }
    }
    Set<String> used = new HashSet<>();
    ParameterLayout layout = net.layout();
    // Each layer's kernel and bias, read (types and shapes checked) before the parameters are allocated.
    List<float[]> tensors = new ArrayList<>();
    for (int l = 0; l < net.depth(); l++) {
      ParameterLayout.Entry k = layout.kernel(l);
      int in = k.shape()[0];
      int out = k.shape()[1];
      String name = LAYER + l + "/kernel";
      if (weights == OnnxExport.Weights.INT8) {
        byte[] q = int8(init, name + "_int8", used, in, out);
        float[] scale = floats(init, name + "_scale", used, out);
        byte[] zero = int8(init, name + "_zero_point", used, out);
        float[] w = new float[in * out];
        for (int i = 0; i < in; i++) {
          for (int j = 0; j < out; j++) w[i * out + j] = (q[i * out + j] - zero[j]) * scale[j];
        }
        tensors.add(w);
      } else {
        tensors.add(floats(init, name, used, in, out));
      }
      tensors.add(floats(init, LAYER + l + "/bias", used, out));
    }
    float[] params = new float[layout.size()];
    for (int l = 0; l < net.depth(); l++) {
      float[] w = tensors.get(2 * l);
      float[] b = tensors.get(2 * l + 1);
      System.arraycopy(w, 0, params, layout.kernel(l).offset(), w.length);
      System.arraycopy(b, 0, params, layout.bias(l).offset(), b.length);
    }
    InputScaling scaling = null;
    if (standardized) {
      float[] shift = floats(init, SHIFT, used, net.inputs());
      float[] scale = floats(init, SCALE, used, net.inputs());
      try {
        scaling = new InputScaling(shift, scale);
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": initializers " + SHIFT + " and " + SCALE + ": " + e.getMessage(), e);
      }
    }
    ModelProto expected = OnnxExport.model(net, params, scaling, classifier, weights, null);
    String what = " (what sparktrain's export writes for architecture '" + architecture + "', " + taskText
        + (standardized ? ", standardized" : "") + ", " + (weights == OnnxExport.Weights.INT8 ? "int8" : "float32")
        + " kernels)";
    checkOpsets(expected.getOpsetImportList(), model.getOpsetImportList(), what);
    checkGraph(expected.getGraph(), g, init, used, what);
    return new Contents(task, net, params, scaling, weights);
  }

  private String required(Map<String, String> meta, String key) throws IOException {
    String v = meta.get(key);
    if (v == null) {
      throw new IOException(file + ": expected metadata_props key '" + key + "' (sparktrain's export writes it),"
          + " found none; keys present: " + meta.keySet());
    }
    return v;
  }

  private void count(Map<String, String> meta, String key, int expected, String architecture) throws IOException {
    String v = required(meta, key);
    if (!v.equals(Integer.toString(expected))) {
      throw new IOException(file + ": metadata " + key + ": expected " + expected + " (from architecture '"
          + architecture + "'), found '" + v + "'");
    }
  }

  private boolean bool(Map<String, String> meta, String key) throws IOException {
    String v = required(meta, key);
    if (!v.equals("true") && !v.equals("false")) {
      throw new IOException(file + ": metadata " + key + ": expected true or false, found '" + v + "'");
    }
    return v.equals("true");
  }

  private OnnxExport.Weights weights(String v) throws IOException {
    List<String> known = new ArrayList<>();
    for (OnnxExport.Weights w : OnnxExport.Weights.values()) {
      if (w.metadata().equals(v)) {
        return w;
      }
      known.add("'" + w.metadata() + "'");
    }
    throw new IOException(file + ": metadata " + OnnxExport.META_WEIGHTS + ": expected one of " + known + ", found '"
        + v + "'");
  }

  /**
   * The network of {@link Network#architecture()}'s text: {@code <inputs>(-<units> <activation>)+,
   * <loss>}, for instance {@code 5-16 relu-8 leaky_relu(0.2)-3 softmax, softmax_cross_entropy}.
   */
  private Network network(String text) throws IOException {
    String where = file + ": metadata " + OnnxExport.META_ARCHITECTURE + ": expected <inputs>-<units> <activation>"
        + "...-<units> <activation>, <loss> (numeric inputs only), found '" + text + "'";
    int comma = text.lastIndexOf(", ");
    if (comma < 0) {
      throw new IOException(where);
    }
    String layers = text.substring(0, comma);
    Matcher inputs = INPUTS_TEXT.matcher(layers);
    if (!inputs.lookingAt()) {
      throw new IOException(where);
    }
    try {
      Network.Builder b = Network.builder(Integer.parseInt(inputs.group()));
      Matcher m = LAYER_TEXT.matcher(layers);
      int at = inputs.end();
      while (at < layers.length()) {
        if (!m.find(at) || m.start() != at) {
          throw new IOException(where);
        }
        b.dense(Integer.parseInt(m.group(1)), Activation.parse(m.group(2)));
        at = m.end();
      }
      if (at == inputs.end()) {
        throw new IOException(where);
      }
      return b.loss(Loss.parse(text.substring(comma + 2))).build();
    } catch (IllegalArgumentException e) {   // NumberFormatException too
      throw new IOException(where + ": " + e.getMessage(), e);
    }
  }

  private TensorProto tensor(Map<String, TensorProto> init, String name, Set<String> used, TensorProto.DataType type,
      int... dims) throws IOException {
    TensorProto t = init.get(name);
    if (t == null) {
      throw new IOException(file + ": expected initializer '" + name + "' (" + type + " " + Arrays.toString(dims)
          + "), found none");
    }
    long[] want = new long[dims.length];
    for (int i = 0; i < dims.length; i++) want[i] = dims[i];
    long[] have = t.getDimsList().stream().mapToLong(Long::longValue).toArray();
    if (t.getDataType() != type.getNumber() || !Arrays.equals(want, have)) {
      throw new IOException(file + ": initializer '" + name + "': expected " + type + " " + Arrays.toString(want)
          + ", found " + typeName(t.getDataType()) + " " + Arrays.toString(have));
    }
    if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
      throw new IOException(file + ": initializer '" + name + "': expected its data in the file, found it"
          + " stored externally");
    }
    used.add(name);
    return t;
  }

  private float[] floats(Map<String, TensorProto> init, String name, Set<String> used, int... dims)
      throws IOException {
    return floats(tensor(init, name, used, TensorProto.DataType.FLOAT, dims), product(dims));
  }

  /** The values of a float32 tensor of {@code n} values: its raw data (little-endian) or its float_data. */
  private float[] floats(TensorProto t, int n) throws IOException {
    float[] v = new float[n];
    if (t.hasRawData()) {
      if (t.getRawData().size() != (long) n * Float.BYTES) {
        throw new IOException(file + ": initializer '" + t.getName() + "': expected " + (long) n * Float.BYTES
            + " bytes of raw data (" + n + " float32), found " + t.getRawData().size());
      }
      t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(v);
    } else {
      if (t.getFloatDataCount() != n) {
        throw new IOException(file + ": initializer '" + t.getName() + "': expected " + n + " float32 values,"
            + " found " + t.getFloatDataCount());
      }
      for (int i = 0; i < n; i++) v[i] = t.getFloatData(i);
    }
    return v;
  }

  /** The values of an int8 tensor: its raw data, or its int32_data (where ONNX keeps int8 values otherwise). */
  private byte[] int8(Map<String, TensorProto> init, String name, Set<String> used, int... dims) throws IOException {
    TensorProto t = tensor(init, name, used, TensorProto.DataType.INT8, dims);
    int n = product(dims);
    if (t.hasRawData()) {
      if (t.getRawData().size() != n) {
        throw new IOException(file + ": initializer '" + name + "': expected " + n + " bytes of raw data (int8),"
            + " found " + t.getRawData().size());
      }
      return t.getRawData().toByteArray();
    }
    if (t.getInt32DataCount() != n) {
      throw new IOException(file + ": initializer '" + name + "': expected " + n + " int8 values, found "
          + t.getInt32DataCount());
    }
    byte[] q = new byte[n];
    for (int i = 0; i < n; i++) {
      int x = t.getInt32Data(i);
      if (x < Byte.MIN_VALUE || x > Byte.MAX_VALUE) {
        throw new IOException(file + ": initializer '" + name + "': expected int8 values, found " + x);
      }
      q[i] = (byte) x;
    }
    return q;
  }

  private static int product(int... dims) {
    int n = 1;
    for (int d : dims) n = Math.multiplyExact(n, d);
    return n;
  }

  private void checkOpsets(List<OperatorSetIdProto> expected, List<OperatorSetIdProto> found, String what)
      throws IOException {
    if (!opsets(expected).equals(opsets(found))) {
      throw new IOException(file + ": expected opset_import " + opsets(expected) + what + ", found "
          + opsets(found));
    }
  }

  private static List<String> opsets(List<OperatorSetIdProto> list) {
    List<String> out = new ArrayList<>();
    for (OperatorSetIdProto o : list) {
      out.add((o.getDomain().isEmpty() ? "ai.onnx" : o.getDomain()) + " " + o.getVersion());
    }
    return out;
  }

  /** The graph {@code g} is {@code expected} but for the values of the parameter initializers ({@code params}). */
  private void checkGraph(GraphProto expected, GraphProto g, Map<String, TensorProto> init, Set<String> params,
      String what) throws IOException {
    checkValues("input", expected.getInputList(), g.getInputList(), what);
    checkValues("output", expected.getOutputList(), g.getOutputList(), what);
    int n = Math.min(expected.getNodeCount(), g.getNodeCount());
    for (int i = 0; i < n; i++) {
      if (!expected.getNode(i).equals(g.getNode(i))) {
        throw new IOException(file + ": graph node " + i + ": expected " + describe(expected.getNode(i)) + what
            + ", found " + describe(g.getNode(i)));
      }
    }
    if (expected.getNodeCount() != g.getNodeCount()) {
      throw new IOException(file + ": expected a graph of " + expected.getNodeCount() + " nodes" + what + ", found "
          + g.getNodeCount() + (g.getNodeCount() > n ? ": the first extra one is " + describe(g.getNode(n)) : ""));
    }
    Set<String> names = new HashSet<>();
    for (TensorProto t : expected.getInitializerList()) {
      names.add(t.getName());
      if (params.contains(t.getName())) {
        continue;   // read, with its type and shape checked
      }
      TensorProto have = init.get(t.getName());
      if (have == null) {
        throw new IOException(file + ": expected initializer '" + t.getName() + "'" + what + ", found none");
      }
      if (have.getDataType() != TensorProto.DataType.FLOAT.getNumber()
          || !have.getDimsList().equals(t.getDimsList())) {
        throw new IOException(file + ": initializer '" + t.getName() + "': expected FLOAT " + t.getDimsList() + what
            + ", found " + typeName(have.getDataType()) + " " + have.getDimsList());
      }
      int size = product(t.getDimsList().stream().mapToInt(Long::intValue).toArray());
      float[] want = floats(t, size);
      float[] got = floats(have, size);
      if (!Arrays.equals(want, got)) {
        throw new IOException(file + ": initializer '" + t.getName() + "': expected " + Arrays.toString(want) + what
            + ", found " + Arrays.toString(got));
      }
    }
    for (String name : init.keySet()) {
      if (!names.contains(name)) {
        throw new IOException(file + ": found initializer '" + name + "', which is not part of the graph" + what);
      }
    }
  }

  private void checkValues(String kind, List<ValueInfoProto> expected, List<ValueInfoProto> found, String what)
      throws IOException {
    if (!expected.equals(found)) {
      throw new IOException(file + ": expected graph " + kind + "s " + describe(expected) + what + ", found "
          + describe(found));
    }
  }

  private static String describe(List<ValueInfoProto> values) {
    List<String> out = new ArrayList<>();
    for (ValueInfoProto v : values) {
      StringBuilder sb = new StringBuilder(v.getName()).append(' ')
          .append(typeName(v.getType().getTensorType().getElemType())).append(" [");
      List<TensorShapeProto.Dimension> dims = v.getType().getTensorType().getShape().getDimList();
      for (int i = 0; i < dims.size(); i++) {
        TensorShapeProto.Dimension d = dims.get(i);
        sb.append(i == 0 ? "" : ", ").append(d.hasDimValue() ? Long.toString(d.getDimValue()) : d.getDimParam());
      }
      out.add(sb.append(']').toString());
    }
    return out.toString();
  }

  /** A node as {@code Gemm 'dense_0' (features, dense_0/kernel, dense_0/bias) -> [dense_0] {alpha=0.2}}. */
  private static String describe(NodeProto n) {
    StringBuilder sb = new StringBuilder(n.getOpType()).append(" '").append(n.getName()).append("' (")
        .append(String.join(", ", n.getInputList())).append(") -> ").append(n.getOutputList());
    if (!n.getDomain().isEmpty()) {
      sb.append(" domain ").append(n.getDomain());
    }
    if (n.getAttributeCount() > 0) {
      List<String> attrs = new ArrayList<>();
      for (AttributeProto a : n.getAttributeList()) {
        String v = a.getType() == AttributeProto.AttributeType.INT ? Long.toString(a.getI())
            : a.getType() == AttributeProto.AttributeType.FLOAT ? Float.toString(a.getF()) : a.getType().toString();
        attrs.add(a.getName() + "=" + v);
      }
      sb.append(' ').append(attrs);
    }
    return sb.toString();
  }

  private static String typeName(int type) {
    TensorProto.DataType t = TensorProto.DataType.forNumber(type);
    return t != null ? t.toString() : "data type " + type;
  }
}
