package io.sparktrain.driver.report;

import io.sparktrain.train.MetricsHistory;
import io.sparktrain.util.Json;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import org.apache.hadoop.conf.Configuration;

/**
 * PLACEHOLDER (cli branch): a minimal page so that train runs end-to-end. The report branch replaces
 * this class with the real self-contained report; the signature of {@link #write} stays.
 */
public final class HtmlReport {
  private HtmlReport() {
  }

  /** Writes a self-contained HTML file to {@code path} (any Hadoop FS URI), atomically. */
  public static void write(RunReport report, String path, Configuration conf) throws IOException {
    StringBuilder sb = new StringBuilder();
    sb.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>sparktrain: ")
        .append(escape(report.name())).append("</title></head><body>\n<h1>sparktrain run ")
        .append(escape(report.name())).append("</h1>\n<p>").append(escape(report.task())).append("; ")
        .append(escape(String.valueOf(report.blas()))).append("</p>\n");
    if (report.classification() != null) {
      sb.append("<p>test accuracy ").append(String.format(java.util.Locale.ROOT, "%.4f",
          report.classification().accuracy())).append("</p>\n");
    }
    if (report.regression() != null) {
      sb.append("<p>test rmse ").append(String.format(java.util.Locale.ROOT, "%.4g",
          report.regression().rmse())).append("</p>\n");
    }
    sb.append("<pre>").append(escape(Json.object(report.data()))).append('\n')
        .append(escape(Json.object(report.timings()))).append("</pre>\n</body></html>\n");
    MetricsHistory.writeAtomically(path, sb.toString().getBytes(StandardCharsets.UTF_8), conf);
  }

  private static String escape(String s) {
    return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
  }
}
