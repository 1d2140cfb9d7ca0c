package io.sparktrain.ml;

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
 * int magic "STNN", int version 1
 * int inputs, int layers; per layer: int units, UTF activation, float dropout
 * UTF loss
 * int n, float[n] parameters
 * </pre>
 * Activations and the loss are stored by the names their {@code parse} methods read.
 */
final class ModelData {
  static final int MAGIC = 0x53544E4E;
  static final int VERSION = 1;
  static final String FILE = "data/network.bin";

  final Network network;
  final float[] params;

  ModelData(Network network, float[] params) {
    this.network = network;
    this.params = params;
  }

  static void write(String path, Network net, float[] params, Configuration conf) throws IOException {
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 + 4 * params.length);
    try (DataOutputStream out = new DataOutputStream(bytes)) {
      out.writeInt(MAGIC);
      out.writeInt(VERSION);
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
    }
    MetricsHistory.writeAtomically(new Path(path, FILE).toString(), bytes.toByteArray(), conf);
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
      if (version != VERSION) {
        throw new IOException(file + ": expected format version " + VERSION + ", found " + version);
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
      return new ModelData(net, params);
    }
  }
}
