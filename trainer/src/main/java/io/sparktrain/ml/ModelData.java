package io.sparktrain.ml;

import io.sparktrain.data.InputScaling;
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
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The data file of a saved model, {@code <path>/data/network.bin}: a small big-endian binary file
 * holding the architecture and the parameters, written atomically (temporary file, then rename).
 *
 * <pre>
 * int magic "STNN", int version 2
 * int inputs, int layers; per layer: int units, UTF activation, float dropout
 * UTF loss
 * int n, float[n] parameters
 * boolean scaled; when scaled: float[inputs] shift, float[inputs] scale   (version 2 only)
 * </pre>
 * Activations and the loss are stored by the names their {@code parse} methods read. The input
 * scaling ({@link InputScaling}, standardization inside the model) is applied as
 * {@code (x - shift) * scale} before the first layer. Version 1 files (no scaling) still load.
 */
final class ModelData {
  static final int MAGIC = 0x53544E4E;
  static final int VERSION = 2;
  /** The first format: no input scaling. */
  static final int VERSION_1 = 1;
  static final String FILE = "data/network.bin";

  final Network network;
  final float[] params;
  /** The input scaling, or null. */
  final InputScaling scaling;

  ModelData(Network network, float[] params, InputScaling scaling) {
    this.network = network;
    this.params = params;
    this.scaling = scaling;
  }

  static void write(String path, Network net, float[] params, InputScaling scaling, Configuration conf)
      throws IOException {
    MetricsHistory.writeAtomically(new Path(path, FILE).toString(), bytes(net, params, scaling, VERSION), conf);
  }

  /** The file's bytes in format {@code version} (1: without the scaling, which must then be null). */
  static byte[] bytes(Network net, float[] params, InputScaling scaling, int version) throws IOException {
    if (version == VERSION_1 && scaling != null) {
      throw new IllegalArgumentException("model format version 1 has no input scaling");
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
      if (version != VERSION && version != VERSION_1) {
        throw new IOException(file + ": expected format version " + VERSION_1 + " or " + VERSION + ", found "
            + version);
      }
      Network.Builder b = Network.builder(in.readInt());
      int layers = in.readInt();
      for (int l = 0; l < layers; l++) {
        int units = in.readInt();
        Activation act = Activation.parse(in.readUTF());
        b.layer(new LayerSpec(units, act, in.readFloat()));
      }
      Network net = b.loss(Loss.parse(in.readUTF())).build();
      int n = in.readInt();
      if (n != net.layout().size()) {
        throw new IOException(file + ": expected " + net.layout().size() + " parameters for " + net + ", found "
            + n);
      }
      float[] params = new float[n];
      for (int i = 0; i < n; i++) params[i] = in.readFloat();
      InputScaling scaling = null;
      if (version >= 2 && in.readBoolean()) {
        float[] shift = new float[net.inputs()];
        float[] scale = new float[net.inputs()];
        for (int j = 0; j < shift.length; j++) shift[j] = in.readFloat();
        for (int j = 0; j < scale.length; j++) scale[j] = in.readFloat();
        try {
          scaling = new InputScaling(shift, scale);
        } catch (IllegalArgumentException e) {
          throw new IOException(file + ": " + e.getMessage(), e);
        }
      }
      return new ModelData(net, params, scaling);
    }
  }
}
