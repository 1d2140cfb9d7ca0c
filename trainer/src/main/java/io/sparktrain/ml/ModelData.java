package io.sparktrain.ml;

import io.sparktrain.data.CategoricalColumn;
import io.sparktrain.data.InputScaling;
import io.sparktrain.model.NetworkFile;
import io.sparktrain.nn.Network;
import io.sparktrain.train.MetricsHistory;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.FileSystem;
import org.apache.hadoop.fs.Path;

/**
 * The data file of a saved model, {@code <path>/data/network.bin}, on any Hadoop FileSystem: the
 * bytes are {@link NetworkFile}'s format (read and written there, without Spark), written atomically
 * (temporary file, then rename). This class adds the file system and turns the file's tables into
 * {@link CategoricalColumn}s.
 */
final class ModelData {
  static final String FILE = NetworkFile.PATH;

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
        bytes(net, params, scaling, categorical, NetworkFile.VERSION), conf);
  }

  /** The file's bytes in format {@code version} (see {@link NetworkFile#bytes}). */
  static byte[] bytes(Network net, float[] params, InputScaling scaling, List<CategoricalColumn> categorical,
      int version) throws IOException {
    List<NetworkFile.Table> tables = new ArrayList<>();
    for (CategoricalColumn c : categorical) tables.add(new NetworkFile.Table(c.column(), c.embedding(), c.kind()));
    return NetworkFile.bytes(net, params, scaling, tables, version);
  }

  static ModelData read(String path, Configuration conf) throws IOException {
    Path file = new Path(path, FILE);
    FileSystem fs = file.getFileSystem(conf);
    byte[] all;
    try (InputStream in = fs.open(file)) {
      all = in.readAllBytes();
    }
    NetworkFile f = NetworkFile.parse(all, file.toString());
    List<CategoricalColumn> categorical = new ArrayList<>();
    for (NetworkFile.Table t : f.tables()) {
      try {
        categorical.add(new CategoricalColumn(t.column(), t.embedding().buckets(), t.embedding().dim(),
            t.embedding().combiner()).withKind(t.kind()));
      } catch (IllegalArgumentException e) {
        throw new IOException(file + ": " + e.getMessage(), e);
      }
    }
    return new ModelData(f.network(), f.params(), f.scaling(), categorical);
  }
}
