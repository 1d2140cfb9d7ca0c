package io.sparktrain.train;

import io.sparktrain.util.AtomicFiles;
import io.sparktrain.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.hadoop.fs.Path;

/** Keeps every round and epoch record of a run; writes them as JSON lines. */
public final class MetricsHistory implements TrainingListener {
  private final List<Map<String, Object>> records = new ArrayList<>();

  @Override
  public synchronized void onRound(RoundEvent e) {
    records.add(e.toMap());
  }

  @Override
  public synchronized void onEpoch(EpochEvent e) {
    records.add(e.toMap());
  }

  /** All records so far, oldest first. */
  public synchronized List<Map<String, Object>> records() {
    return Collections.unmodifiableList(new ArrayList<>(records));
  }

  /** The records of one type ("round" or "epoch"). */
  public synchronized List<Map<String, Object>> records(String type) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> r : records) {
      if (type.equals(r.get("type"))) {
        out.add(r);
      }
    }
    return out;
  }

  /** The records as JSON lines. */
  public synchronized String toJsonLines() {
    StringBuilder sb = new StringBuilder();
    for (Map<String, Object> r : records) sb.append(Json.object(r)).append('\n');
    return sb.toString();
  }

  /** Writes the JSON lines to {@code path} (any Hadoop FileSystem): a temporary file, then a rename. */
  public void writeJsonLines(String path, Configuration conf) throws IOException {
    writeAtomically(path, toJsonLines().getBytes(StandardCharsets.UTF_8), conf);
  }

  /** Writes {@code bytes} to a temporary file beside {@code path}, then renames it over {@code path}. */
  public static void writeAtomically(String path, byte[] bytes, Configuration conf) throws IOException {
    Path target = new Path(path);
    AtomicFiles.write(target.getFileSystem(conf), target, bytes);
  }
}
