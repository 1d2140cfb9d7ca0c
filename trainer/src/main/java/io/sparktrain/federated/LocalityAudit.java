package io.sparktrain.federated;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/**
 * Proof that training keeps rows in their silos: a SparkListener that watches every stage of a
 * training round (job description "sparktrain ... round r/R") and records its shuffle reads and
 * writes (bytes and records) and the size of every task result (the only thing a silo sends).
 * After training, {@link #rowsMoved()} must be 0 and {@link #maxTaskResultBytes()} about the size
 * of one model update.
 */
public final class LocalityAudit extends SparkListener {
  private static final Pattern ROUND = Pattern.compile("^sparktrain .*round \\d+/\\d+$");

  private final Map<Integer, Boolean> trainingStages = new ConcurrentHashMap<>();
  private final AtomicLong shuffleReadBytes = new AtomicLong();
  private final AtomicLong shuffleWriteBytes = new AtomicLong();
  private final AtomicLong shuffleRecords = new AtomicLong();
  private final AtomicLong resultBytes = new AtomicLong();
  private final AtomicLong maxResultBytes = new AtomicLong();
  private final AtomicLong tasks = new AtomicLong();

  /** True when a job with this description is a training round. */
  public static boolean isTrainingRound(String description) {
    return description != null && ROUND.matcher(description).matches();
  }

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted event) {
    Properties p = event.properties();
    String d = p == null ? null : p.getProperty("spark.job.description");
    if (isTrainingRound(d)) {
      trainingStages.put(event.stageInfo().stageId(), Boolean.TRUE);
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd event) {
    if (!trainingStages.containsKey(event.stageId())) {
      return;
    }
    TaskMetrics m = event.taskMetrics();
    if (m == null) {
      return;
    }
    tasks.incrementAndGet();
    shuffleReadBytes.addAndGet(m.shuffleReadMetrics().totalBytesRead());
    shuffleWriteBytes.addAndGet(m.shuffleWriteMetrics().bytesWritten());
    shuffleRecords.addAndGet(m.shuffleReadMetrics().recordsRead() + m.shuffleWriteMetrics().recordsWritten());
    long r = m.resultSize();
    resultBytes.addAndGet(r);
    maxResultBytes.accumulateAndGet(r, Math::max);
  }

  /** Training stages seen. */
  public int trainingStages() { return trainingStages.size(); }
  public long tasks() { return tasks.get(); }
  public long shuffleReadBytes() { return shuffleReadBytes.get(); }
  public long shuffleWriteBytes() { return shuffleWriteBytes.get(); }
  /** Records read or written by shuffles in training stages: rows moved between silos. */
  public long rowsMoved() { return shuffleRecords.get(); }
  /** Bytes of all task results of training stages (what silos uploaded, serialized). */
  public long resultBytes() { return resultBytes.get(); }
  /** The largest single upload of a silo (one task result). */
  public long maxTaskResultBytes() { return maxResultBytes.get(); }

  /** The lines a run summary prints. */
  public String summary(long rounds) {
    return "rows moved during training: " + rowsMoved() + "\n"
        + "shuffle bytes in training stages: read " + shuffleReadBytes() + ", written " + shuffleWriteBytes() + "\n"
        + "largest upload of a silo: " + maxTaskResultBytes() + " bytes\n"
        + "bytes uploaded per round: " + (rounds > 0 ? resultBytes() / rounds : 0) + " (" + trainingStages()
        + " training stages, " + tasks() + " tasks)";
  }

  public Map<String, Object> toMap(long rounds) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("rows_moved_during_training", rowsMoved());
    m.put("training_stages", trainingStages());
    // Task attempts of training stages: one per working silo and round (silos not sampled get none),
    // plus retried or speculative attempts and, with aggregation_depth > 1, the tree's combining tasks.
    m.put("training_tasks", tasks());
    m.put("shuffle_read_bytes", shuffleReadBytes());
    m.put("shuffle_write_bytes", shuffleWriteBytes());
    m.put("largest_upload_bytes", maxTaskResultBytes());
    m.put("bytes_per_round", rounds > 0 ? resultBytes() / rounds : 0);
    return m;
  }
}
