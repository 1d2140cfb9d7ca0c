package io.sparktrain.ml;

import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.Embedding;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.LayerSpec;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import io.sparktrain.train.MetricsHistory;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The data file of a saved model, {@code <path>/data/network.bin}: a small big-endian binary file
 * holding the architecture and the parameters, written atomically (temporary file, then rename).
 *
 * <pre>
 * int magic "STNN", int version 3
 * int inputs, int layers; per layer: int units, UTF activation, float dropout
 * UTF loss
 * int n, float[n] parameters
 * boolean scaled; when scaled: float[inputs] shift, float[inputs] scale   (version 2 and later)
 * int tables; per table: UTF column, int buckets, int dim, UTF combiner, UTF kind  (version 3)
 * </pre>
 * Activations and the loss are stored by the names their {@code parse} methods read. The input
 * scaling ({@link InputScaling}, standardization inside the model) is applied as
 * {@code (x - shift) * scale} before the first layer. The categorical columns
 * ({@link CategoricalColumn}) name the columns that feed the embedding tables, in order. Version 1
 * files (no scaling) and version 2 files (no categorical columns) still load.
 */
final class ModelData {
  static final int MAGIC = 0x53544E4E;
  static final int VERSION = 3;
  /** The first format: no input scaling. */
  static final int VERSION_1 = 1;
  /** The second format: no categorical columns. */
  static final int VERSION_2 = 2;
  static final String FILE = "data/network.bin";

  final Network network;
  final float[] params;
  /** The input scaling, or null. */
  final InputScaling scaling;
  /** The columns of the embedding tables, in order (empty when none). */
  final List<CategoricalColumn> categorical;

  ModelData(Network network, float[] params, InputScaling scaling, List<CategoricalColumn> categorical) {
    this.network = network;
    this.params = params;
    this.scaling = scaling;
    this.categorical = categorical;
  }

  static void write(String path, Network net, float[] params, InputScaling scaling,
      List<CategoricalColumn> categorical, Configuration conf) throws IOException {
    MetricsHistory.writeAtomically(new Path(path, FILE).toString(),
        bytes(net, params, scaling, categorical, VERSION), conf);
  }

  /**
   * The file's bytes in format {@code version} (1: without the scaling, which must then be null;
   * 1 and 2: without categorical columns, which must then be empty).
   */
  static byte[] bytes(Network net, float[] params, InputScaling scaling, List<CategoricalColumn> categorical,
      int version) throws IOException {
    if (version == VERSION_1 && scaling != null) {
      throw new IllegalArgumentException("model format version 1 has no input scaling");
    }
    if (version < VERSION && !categorical.isEmpty()) {
      throw new IllegalArgumentException("model format version " + version + " has no categorical columns");
    }
    if (categorical.size() != net.categorical()) {
      throw new IllegalArgumentException("model: expected " + net.categorical() + " categorical columns (one per"
          + " embedding table), found " + categorical.size());
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 4 * params.length);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(MAGIC);
      out.writeInt(version);
      out.writeInt(net.inputs());
      out.writeInt(net.depth());
      for (int l = 0; l < net.depth(); l++) {
        LayerSpec s = net.layer(l);
        out.writeInt(s.units());
        out.writeUTF(s.activation().toString());
        out.writeFloat(s.dropout());
      }
      out.writeUTF(net.loss().toString());
      out.writeInt(params.length);
      for (float p : params) out.writeFloat(p);
      if (version >= 2) {
        out.writeBoolean(scaling != null);
        if (scaling != null) {
          for (float v : scaling.shift()) out.writeFloat(v);
          for (float v : scaling.scale()) out.writeFloat(v);
        }
      }
      if (version >= 3) {
        out.writeInt(categorical.size());
        for (CategoricalColumn c : categorical) {
          out.writeUTF(c.column());
          out.writeInt(c.buckets());
          out.writeInt(c.dim());
          out.writeUTF(c.combiner().toString());
          out.writeUTF(c.kind());
        }
      }
    }
    return bytes.toByteArray();
  }

  static ModelData read(String path, Configuration conf) throws IOException {
    Path file = new Path(path, FILE);
    FileSystem fs = file.getFileSystem(conf);
    byte[] all;
    try (InputStream in = fs.open(file)) {
      all = in.readAllBytes();
    }
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(all))) {
      int magic = in.readInt();
      if (magic != MAGIC) {
        throw new IOException(file + ": not a sparktrain network file (expected magic " + Integer.toHexString(MAGIC)
            + ", found " + Integer.toHexString(magic) + ")");
      }
      int version = in.readInt();
      if (version < VERSION_1 || version > VERSION) {
        throw new IOException(file + ": expected format version " + VERSION_1 + " to " + VERSION + ", found "
            + version);
      }
      int inputs = in.readInt();
      int layers = in.readInt();
      List<LayerSpec> specs = new ArrayList<>();
      for (int l = 0; l < layers; l++) {
        int units = in.readInt();
        Activation act = Activation.parse(in.readUTF());
        specs.add(new LayerSpec(units, act, in.readFloat()));
      }
      Loss loss = Loss.parse(in.readUTF());
      int n = in.readInt();
      if (n < 0 || 4L * n > all.length) {
        throw new IOException(file + ": expected a parameter count within the file's " + all.length + " bytes, found "
            + n);
      }
      float[] params = new float[n];
      for (int i = 0; i < n; i++) params[i] = in.readFloat();
      InputScaling scaling = null;
      if (version >= 2 && in.readBoolean()) {
        float[] shift = new float[inputs];
        float[] scale = new float[inputs];
        for (int j = 0; j < shift.length; j++) shift[j] = in.readFloat();
        for (int j = 0; j < scale.length; j++) scale[j] = in.readFloat();
        try {
          scaling = new InputScaling(shift, scale);
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ": " + e.getMessage(), e);
        }
      }
      List<CategoricalColumn> categorical = version >= 3 ? categorical(in, file) : List.of();
      Network.Builder b = Network.builder(inputs);
      for (CategoricalColumn c : categorical) b.embedding(c.embedding());
      specs.forEach(b::layer);
      Network net = b.loss(loss).build();
      if (n != net.layout().size()) {
        throw new IOException(file + ": expected " + net.layout().size() + " parameters for " + net + ", found "
            + n);
      }
      return new ModelData(net, params, scaling, categorical);
    }
  }

  /** The categorical columns of a version 3 file, which come last. */
  private static List<CategoricalColumn> categorical(DataInputStream in, Path file) throws IOException {
    int k = in.readInt();
    List<CategoricalColumn> cols = new ArrayList<>();
    for (int c = 0; c < k; c++) {
      String column = in.readUTF();
      int buckets = in.readInt();
      int dim = in.readInt();
      try {
        Embedding.Combiner combiner = Embedding.Combiner.parse(in.readUTF());
        cols.add(new CategoricalColumn(column, buckets, dim, combiner).withKind(in.readUTF()));
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": " + e.getMessage(), e);
      }
    }
    return cols;
  }
}
