package io.sparktrain.examples.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.spark.executor.TaskMetrics;
import org.apache.spark.scheduler.SparkListener;
import org.apache.spark.scheduler.SparkListenerJobEnd;
import org.apache.spark.scheduler.SparkListenerJobStart;
import org.apache.spark.scheduler.SparkListenerTaskEnd;
import scala.collection.Iterator;

/**
 * Where a training round's time goes, from Spark's own task metrics: for every job whose
 * description is a training round ("sparktrain epoch e/E round r/R"), the job's wall time, each
 * task's executor run time, deserialization time and duration. The benchmark reports the second
 * half of the rounds (after the JIT has settled) so a reader can tell compute from Spark's
 * per-round cost and from the wait for the slowest task.
 */
final class RoundProfile extends SparkListener {
  /** One round job: its wall time and its tasks' metrics. */
  static final class Round {
    long submitted;
    long completed;
    final List<long[]> tasks = new ArrayList<>(); // {run ms, deserialize ms, duration ms, cpu ms}
  }

  private final Map<Integer, Round> byJob = new ConcurrentHashMap<>();
  private final Map<Integer, Integer> jobOfStage = new ConcurrentHashMap<>();

  @Override
  public void onJobStart(SparkListenerJobStart e) {
    Properties p = e.properties();
    String d = p == null ? null : p.getProperty("spark.job.description");
    if (d == null || !d.startsWith("sparktrain epoch") || !d.contains(" round ")) {
      return;
    }
    Round r = new Round();
    r.submitted = e.time();
    byJob.put(e.jobId(), r);
    Iterator<Object> it = e.stageIds().iterator();
    while (it.hasNext()) {
      jobOfStage.put((Integer) it.next(), e.jobId());
    }
  }

  @Override
  public void onTaskEnd(SparkListenerTaskEnd e) {
    Integer job = jobOfStage.get(e.stageId());
    TaskMetrics m = e.taskMetrics();
    if (job == null || m == null) {
      return;
    }
    Round r = byJob.get(job);
    synchronized (r) {
      r.tasks.add(new long[] {m.executorRunTime(), m.executorDeserializeTime(), e.taskInfo().duration(),
          m.executorCpuTime() / 1_000_000});
    }
  }

  @Override
  public void onJobEnd(SparkListenerJobEnd e) {
    Round r = byJob.get(e.jobId());
    if (r != null) {
      r.completed = e.time();
    }
  }

  /**
   * Medians over the second half of the rounds: the job's wall time, the mean and the slowest
   * task's run time, task deserialization, and samples/s per task thread while it computes.
   */
  Map<String, Object> steadyState(long rowsPerTask) {
    List<Round> rounds = new ArrayList<>();
    byJob.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(x -> rounds.add(x.getValue()));
    List<Round> late = rounds.subList(rounds.size() / 2, rounds.size());
    double[] job = new double[late.size()];
    double[] meanRun = new double[late.size()];
    double[] maxRun = new double[late.size()];
    double[] deser = new double[late.size()];
    double[] perThread = new double[late.size()];
    double[] onCpu = new double[late.size()];
    for (int i = 0; i < late.size(); i++) {
      Round r = late.get(i);
      job[i] = (r.completed - r.submitted) / 1e3;
      double sum = 0;
      double max = 0;
      double d = 0;
      double cpu = 0;
      for (long[] t : r.tasks) {
        cpu += t[3];
        sum += t[0];
        max = Math.max(max, t[0]);
        d += t[1];
      }
      int n = Math.max(1, r.tasks.size());
      meanRun[i] = sum / n / 1e3;
      maxRun[i] = max / 1e3;
      deser[i] = d / n;
      onCpu[i] = sum > 0 ? cpu / sum : Double.NaN;
      perThread[i] = sum > 0 ? rowsPerTask * (double) n / (sum / 1e3) : Double.NaN;
    }
    Map<String, Object> out = new LinkedHashMap<>();
    out.put("rounds_profiled", late.size());
    out.put("job_seconds", median(job));
    out.put("task_run_seconds_mean", median(meanRun));
    out.put("task_run_seconds_max", median(maxRun));
    out.put("task_deserialize_ms", median(deser));
    out.put("samples_per_s_per_task_thread", median(perThread));
    // CPU time over run time: below 1 means the task threads waited for a core (something else ran).
    out.put("task_cpu_share_of_run_time", median(onCpu));
    return out;
  }

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length == 0 ? Double.NaN : s[s.length / 2];
  }
}
