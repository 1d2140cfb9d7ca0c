package io.sparktrain.federated;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerStageSubmitted;
import org.apache.spark.scheduler.SparkListenerTaskEnd;

/** Test helper: every successful task of every stage, with its job description and metrics. */
final class JobWatch extends SparkListener {
  /** One finished task. */
  record Task(String description, int stage, int partition, long resultBytes, long shuffleRecords,
      long shuffleBytes) {
  }

  private final Map<Integer, String> descriptions = new ConcurrentHashMap<>();
  private final List<Task> tasks = new ArrayList<>();

  @Override
  public void onStageSubmitted(SparkListenerStageSubmitted event) {
    Properties p = event.properties();
    String d = p == null ? null : p.getProperty("spark.job.description");
    descriptions.put(event.stageInfo().stageId(), d == null ? "" : d);
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd event) {
    TaskMetrics m = event.taskMetrics();
    if (m == null || !event.taskInfo().successful()) {
      return;
    }
    Task t = new Task(descriptions.getOrDefault(event.stageId(), ""), event.stageId(),
        event.taskInfo().partitionId(), m.resultSize(),
        m.shuffleReadMetrics().recordsRead() + m.shuffleWriteMetrics().recordsWritten(),
        m.shuffleReadMetrics().totalBytesRead() + m.shuffleWriteMetrics().bytesWritten());
    synchronized (tasks) {
      tasks.add(t);
    }
  }

  /** The successful tasks of jobs described exactly {@code description}. */
  List<Task> tasks(String description) {
    synchronized (tasks) {
      return tasks.stream().filter(t -> t.description().equals(description)).toList();
    }
  }
}
