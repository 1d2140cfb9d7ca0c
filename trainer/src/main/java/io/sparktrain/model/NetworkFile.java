package io.sparktrain.model;

import io.sparktrain.data.InputScaling;
import io.sparktrain.nn.Activation;
import io.sparktrain.nn.Embedding;
import io.sparktrain.nn.LayerSpec;
import io.sparktrain.nn.Loss;
import io.sparktrain.nn.Network;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;

/**
 * The bytes of a saved model's data file, {@code <model>/data/network.bin}: the architecture, the
 * parameters, the input scaling and the categorical columns, big-endian.
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
 * scaling ({@link InputScaling}) is applied as {@code (x - shift) * scale} before the first layer.
 * The tables name the columns that feed the network's embedding tables, in order. Version 1 files
 * (no scaling) and version 2 files (no tables) still load.
 *
 * <p>This is the one reader and writer of the format, and it uses no Spark or Hadoop type: the Spark
 * models read and write the bytes through Hadoop's FileSystem ({@code io.sparktrain.ml.ModelData}),
 * the Spark-free {@code io.sparktrain.serve.Predictor} through java.nio.
 */
public final class NetworkFile {
  public static final int MAGIC = 0x53544E4E;
  public static final int VERSION = 3;
  /** The first format: no input scaling. */
  public static final int VERSION_1 = 1;
  /** The second format: no categorical columns. */
  public static final int VERSION_2 = 2;
  /** The file's path inside a model directory. */
  public static final String PATH = "data/network.bin";

  /**
   * A categorical column as the file stores it: its name, its embedding table, and what the column
   * held when decoded ({@code kind}: "numbers", "strings", "booleans", or "" when unknown).
   */
  public record Table(String column, Embedding embedding, String kind) {
  }

  private final Network network;
  private final float[] params;
  private final InputScaling scaling;
  private final List<Table> tables;

  private NetworkFile(Network network, float[] params, InputScaling scaling, List<Table> tables) {
    this.network = network;
    this.params = params;
    this.scaling = scaling;
    this.tables = List.copyOf(tables);
  }

  /** The architecture (embedding tables included). */
  public Network network() { return network; }
  /** The parameters, in the layout of {@link Network#layout()}; a copy. */
  public float[] params() { return params.clone(); }
  /** The input scaling, or null when the model takes raw features. */
  public InputScaling scaling() { return scaling; }
  /** The columns of the embedding tables, in table order (empty when none). */
  public List<Table> tables() { return tables; }

  /**
   * The file's bytes in format {@code version} (1: without the scaling, which must then be null;
   * 1 and 2: without tables, which must then be empty).
   */
  public static byte[] bytes(Network net, float[] params, InputScaling scaling, List<Table> tables, int version)
      throws IOException {
    if (version < VERSION_1 || version > VERSION) {
      throw new IllegalArgumentException("model format: expected version " + VERSION_1 + " to " + VERSION
          + ", found " + version);
    }
    if (version == VERSION_1 && scaling != null) {
      throw new IllegalArgumentException("model format version 1 has no input scaling");
    }
    if (version < VERSION && !tables.isEmpty()) {
      throw new IllegalArgumentException("model format version " + version + " has no categorical columns");
    }
    if (tables.size() != net.categorical()) {
      throw new IllegalArgumentException("model: expected " + net.categorical() + " categorical columns (one per"
          + " embedding table), found " + tables.size());
    }
    net.layout().check(params, "model parameters");
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
      if (version >= VERSION_2) {
        out.writeBoolean(scaling != null);
        if (scaling != null) {
          for (float v : scaling.shift()) out.writeFloat(v);
          for (float v : scaling.scale()) out.writeFloat(v);
        }
      }
      if (version >= VERSION) {
        out.writeInt(tables.size());
        for (Table t : tables) {
          out.writeUTF(t.column());
          out.writeInt(t.embedding().buckets());
          out.writeInt(t.embedding().dim());
          out.writeUTF(t.embedding().combiner().toString());
          out.writeUTF(t.kind());
        }
      }
    }
    return bytes.toByteArray();
  }

  /**
   * Parses a file's bytes; {@code where} (the file's path) starts every error message. A truncated or
   * inconsistent file is an IOException that says what was expected and found.
   */
  public static NetworkFile parse(byte[] all, String where) throws IOException {
    try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(all))) {
      return read(in, all.length, where);
    } catch (EOFException e) {
      throw new IOException(where + ": truncated: the file ends after " + all.length + " bytes", e);
    } catch (IllegalArgumentException e) {
      throw new IOException(where + ": " + e.getMessage(), e);
    }
  }

  private static NetworkFile read(DataInputStream in, int size, String where) throws IOException {
    int magic = in.readInt();
    if (magic != MAGIC) {
      throw new IOException(where + ": not a sparktrain network file (expected magic "
          + Integer.toHexString(MAGIC) + ", found " + Integer.toHexString(magic) + ")");
    }
    int version = in.readInt();
    if (version < VERSION_1 || version > VERSION) {
      throw new IOException(where + ": expected format version " + VERSION_1 + " to " + VERSION + ", found "
          + version);
    }
    int inputs = in.readInt();
    int layers = in.readInt();
    if (inputs < 0 || 4L * inputs > size || layers < 1 || layers > size) {
      throw new IOException(where + ": expected an input count and a layer count that fit the file's " + size
          + " bytes, found " + inputs + " inputs and " + layers + " layers");
    }
    List<LayerSpec> specs = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      int units = in.readInt();
      Activation act = Activation.parse(in.readUTF());
      specs.add(new LayerSpec(units, act, in.readFloat()));
    }
    Loss loss = Loss.parse(in.readUTF());
    int n = in.readInt();
    if (n < 0 || 4L * n > size) {
      throw new IOException(where + ": expected a parameter count within the file's " + size
          + " bytes, found " + n);
    }
    float[] params = new float[n];
    for (int i = 0; i < n; i++) params[i] = in.readFloat();
    InputScaling scaling = null;
    if (version >= VERSION_2 && in.readBoolean()) {
      float[] shift = new float[inputs];
      float[] scale = new float[inputs];
      for (int j = 0; j < shift.length; j++) shift[j] = in.readFloat();
      for (int j = 0; j < scale.length; j++) scale[j] = in.readFloat();
      scaling = new InputScaling(shift, scale);
    }
    List<Table> tables = version >= VERSION ? tables(in, where) : List.of();
    Network.Builder b = Network.builder(inputs);
    for (Table t : tables) b.embedding(t.embedding());
    specs.forEach(b::layer);
    Network net = b.loss(loss).build();
    if (n != net.layout().size()) {
      throw new IOException(where + ": expected " + net.layout().size() + " parameters for " + net + ", found "
          + n);
    }
    return new NetworkFile(net, params, scaling, tables);
  }

  /** The tables of a version 3 file, which come last. */
  private static List<Table> tables(DataInputStream in, String where) throws IOException {
    int k = in.readInt();
    List<Table> out = new ArrayList<>();
    for (int c = 0; c < k; c++) {
      String column = in.readUTF();
      int buckets = in.readInt();
      int dim = in.readInt();
      try {
        Embedding e = new Embedding(buckets, dim, Embedding.Combiner.parse(in.readUTF()));
        out.add(new Table(column, e, in.readUTF()));
      } catch (IllegalArgumentException e) {
        throw new IOException(where + ": categorical column '" + column + "': " + e.getMessage(), e);
      }
    }
    return out;
  }
}
