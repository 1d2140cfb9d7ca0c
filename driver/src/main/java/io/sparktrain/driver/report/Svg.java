package io.sparktrain.driver.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.DoubleFunction;
import java.util.function.DoubleUnaryOperator;

/**
 * Inline SVG charts drawn from data (no scripts): line charts, a heat map, a horizontal bar chart,
 * horizontal box plots.
 */
final class Svg {
  private Svg() {
  }

  /** Colour-blind-safe palette (Okabe-Ito), in the order series use it. */
  static final String[] PALETTE = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000"};

  /** Approximate width of {@code s} in pixels at the given font size (sans-serif, mixed case). */
  static double textWidth(String s, double fontSize) {
    return s.length() * fontSize * 0.6;
  }

  /** HTML/XML escape for text and attribute values. */
  static String esc(Object o) {
    String s = String.valueOf(o);
    StringBuilder sb = new StringBuilder(s.length() + 16);
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '&': sb.append("&amp;"); break;
        case '<': sb.append("&lt;"); break;
        case '>': sb.append("&gt;"); break;
        case '"': sb.append("&quot;"); break;
        case '\'': sb.append("&#39;"); break;
        default:
          if (c < 0x20 && c != '\n' && c != '\t') {
            sb.append(' ');
          } else {
            sb.append(c);
          }
      }
    }
    return sb.toString();
  }

  static String num(double v) {
    // SVG coordinates: 2 decimals are plenty.
    return String.format(Locale.ROOT, "%.2f", v);
  }

  /** One line of a chart: x and y of equal length; non-finite y values break the line. */
  static final class Series {
    final String name;
    final String color;
    final double[] x;
    final double[] y;
    boolean dashed;
    boolean markers;
    double width = 2;
    double opacity = 1;

    Series(String name, String color, double[] x, double[] y) {
      this.name = name;
      this.color = color;
      this.x = x;
      this.y = y;
    }

    Series dashed() {
      dashed = true;
      return this;
    }

    Series markers() {
      markers = true;
      return this;
    }

    Series thin(double w, double op) {
      width = w;
      opacity = op;
      return this;
    }
  }

  /** Ticks over [lo, hi]: about {@code target} "nice" values (1, 2, 5 x 10^k); first/last enclose the range. */
  static double[] niceTicks(double lo, double hi, int target, boolean integer) {
    if (!(hi > lo)) {
      double pad = lo == 0 ? 1 : Math.abs(lo) * 0.1;
      lo -= pad;
      hi += pad;
    }
    double step = niceStep((hi - lo) / Math.max(1, target));
    if (integer) {
      step = Math.max(1, Math.round(step));
    }
    double start = Math.floor(lo / step + 1e-9) * step;
    double end = Math.ceil(hi / step - 1e-9) * step;
    int n = (int) Math.round((end - start) / step);
    double[] t = new double[n + 1];
    for (int i = 0; i <= n; i++) t[i] = start + i * step;
    return t;
  }

  static double niceStep(double raw) {
    double exp = Math.floor(Math.log10(raw));
    double base = Math.pow(10, exp);
    double f = raw / base;
    double nice = f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10;
    return nice * base;
  }

  /** A tick label: as few decimals as the step needs; k/M suffixes for large values. */
  static String tickLabel(double v, double step) {
    if (Math.abs(v) < step * 1e-6) {
      v = 0;
    }
    double a = Math.abs(v);
    if (a >= 1e6 && step >= 1e5) {
      return trim(String.format(Locale.ROOT, "%.1f", v / 1e6)) + "M";
    }
    if (a >= 1e4 && step >= 1e3) {
      return trim(String.format(Locale.ROOT, "%.1f", v / 1e3)) + "k";
    }
    int decimals = (int) Math.max(0, Math.ceil(-Math.log10(step) - 1e-9));
    return String.format(Locale.ROOT, "%." + Math.min(decimals, 8) + "f", v);
  }

  private static String trim(String s) {
    return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
  }

  /**
   * A line chart with axes, ticks, grid lines, axis labels and a legend above the plot. Returns an
   * {@code <svg>} element {@code width} x {@code height} (scales down with its container).
   */
  static String lineChart(String ariaLabel, String xLabel, String yLabel, List<Series> series, int width,
      int height, boolean integerX) {
    return lineChart(ariaLabel, xLabel, yLabel, series, width, height, integerX, false);
  }

  /**
   * As {@link #lineChart(String, String, String, List, int, int, boolean)} with a logarithmic x axis
   * (ticks at 1, 2, 5 x 10^k, or at powers of 10 over three decades or more); points with x <= 0
   * are left out.
   */
  static String lineChartLogX(String ariaLabel, String xLabel, String yLabel, List<Series> series, int width,
      int height) {
    return lineChart(ariaLabel, xLabel, yLabel, series, width, height, false, true);
  }

  /** Whether a point is drawn: finite, and x > 0 on a log axis. */
  private static boolean drawn(Series s, int i, boolean logX) {
    return Double.isFinite(s.x[i]) && Double.isFinite(s.y[i]) && (!logX || s.x[i] > 0);
  }

  /** Tick values of a log axis over [lo, hi] (lo > 0). */
  static List<Double> logTicks(double lo, double hi) {
    List<Double> decades = new ArrayList<>();
    List<Double> all = new ArrayList<>();
    for (int e = (int) Math.floor(Math.log10(lo)); e <= (int) Math.ceil(Math.log10(hi)); e++) {
      for (int m : new int[] {1, 2, 5}) {
        double t = m * Math.pow(10, e);
        if (t >= lo * (1 - 1e-9) && t <= hi * (1 + 1e-9)) {
          all.add(t);
          if (m == 1) {
            decades.add(t);
          }
        }
      }
    }
    return decades.size() >= 3 ? decades : all;
  }

  /** A log axis's tick label: 0.5, 20, 1000, 2k, 5M. */
  static String logTickLabel(double v) {
    if (v >= 1e6) {
      return trim(String.format(Locale.ROOT, "%.1f", v / 1e6)) + "M";
    }
    if (v >= 1e4) {
      return trim(String.format(Locale.ROOT, "%.1f", v / 1e3)) + "k";
    }
    int decimals = (int) Math.max(0, Math.ceil(-Math.log10(v) - 1e-9));
    return String.format(Locale.ROOT, "%." + Math.min(decimals, 8) + "f", v);
  }

  private static String lineChart(String ariaLabel, String xLabel, String yLabel, List<Series> series, int width,
      int height, boolean integerX, boolean logX) {
    double xmin = Double.POSITIVE_INFINITY;
    double xmax = Double.NEGATIVE_INFINITY;
    double ymin = Double.POSITIVE_INFINITY;
    double ymax = Double.NEGATIVE_INFINITY;
    for (Series s : series) {
      for (int i = 0; i < s.x.length; i++) {
        if (drawn(s, i, logX)) {
          xmin = Math.min(xmin, s.x[i]);
          xmax = Math.max(xmax, s.x[i]);
          ymin = Math.min(ymin, s.y[i]);
          ymax = Math.max(ymax, s.y[i]);
        }
      }
    }
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(width).append(' ')
        .append(height).append("\" width=\"").append(width).append("\" height=\"").append(height)
        .append("\" role=\"img\" aria-label=\"").append(esc(ariaLabel)).append("\">");
    sb.append("<title>").append(esc(ariaLabel)).append("</title>");
    if (xmin > xmax) {
      sb.append("<text x=\"").append(width / 2).append("\" y=\"").append(height / 2)
          .append("\" text-anchor=\"middle\" class=\"muted\">no data</text></svg>");
      return sb.toString();
    }
    double[] yt = niceTicks(ymin, ymax, 5, false);
    double ystep = yt.length > 1 ? yt[1] - yt[0] : 1;
    double y0 = yt[0];
    double y1 = yt[yt.length - 1];
    if (logX && !(xmax > xmin)) {
      xmin /= 2;
      xmax *= 2;
    }
    double x0 = logX ? Math.log10(xmin) : xmin;
    double x1 = logX ? Math.log10(xmax) : xmax;
    if (!(x1 > x0)) {
      x0 -= 1;
      x1 += 1;
    }
    double[] xtAll = logX ? new double[0] : niceTicks(x0, x1, 6, integerX);
    double xstep = xtAll.length > 1 ? xtAll[1] - xtAll[0] : 1;
    List<Double> xt = new ArrayList<>();
    for (double t : xtAll) {
      if (t >= x0 - xstep * 1e-6 && t <= x1 + xstep * 1e-6) {
        xt.add(t);
      }
    }
    if (logX) {
      xt = logTicks(xmin, xmax);
    }
    final double xs = xstep;
    DoubleFunction<String> xLabelOf = logX ? Svg::logTickLabel : t -> tickLabel(t, xs);
    final double fx0 = x0;
    final double fx1 = x1;

    // Legend rows (wrapped), measured before the plot area is placed.
    final double font = 12;
    List<List<Integer>> rows = new ArrayList<>();
    List<Integer> row = new ArrayList<>();
    double rowWidth = 0;
    double avail = width - 20;
    for (int i = 0; i < series.size(); i++) {
      double w = 28 + textWidth(series.get(i).name, font) + 16;
      if (!row.isEmpty() && rowWidth + w > avail) {
        rows.add(row);
        row = new ArrayList<>();
        rowWidth = 0;
      }
      row.add(i);
      rowWidth += w;
    }
    if (!row.isEmpty()) {
      rows.add(row);
    }
    double maxTick = 0;
    for (double t : yt) maxTick = Math.max(maxTick, textWidth(tickLabel(t, ystep), 11));
    double left = 28 + maxTick + 8;
    double right = 18 + textWidth(xt.isEmpty() ? tickLabel(x1, xstep) : xLabelOf.apply(xt.get(xt.size() - 1)), 11)
        / 2;
    double top = 10 + rows.size() * 18 + 6;
    double bottom = 46;
    double pw = width - left - right;
    double ph = height - top - bottom;

    // Legend.
    double ly = 16;
    for (List<Integer> r : rows) {
      double lx = left;
      for (int i : r) {
        Series s = series.get(i);
        sb.append("<g class=\"legend\"><line x1=\"").append(num(lx)).append("\" y1=\"").append(num(ly - 4))
            .append("\" x2=\"").append(num(lx + 22)).append("\" y2=\"").append(num(ly - 4))
            .append("\" stroke=\"").append(s.color).append("\" stroke-width=\"3\"")
            .append(s.dashed ? " stroke-dasharray=\"6 4\"" : "").append("/>");
        if (s.markers) {
          sb.append("<circle cx=\"").append(num(lx + 11)).append("\" cy=\"").append(num(ly - 4))
              .append("\" r=\"3.5\" fill=\"").append(s.color).append("\"/>");
        }
        sb.append("<text x=\"").append(num(lx + 28)).append("\" y=\"").append(num(ly)).append("\">")
            .append(esc(s.name)).append("</text></g>");
        lx += 28 + textWidth(s.name, font) + 16;
      }
      ly += 18;
    }

    // Grid, ticks, tick labels.
    sb.append("<g class=\"axis\">");
    for (double t : yt) {
      double py = top + ph - (t - y0) / (y1 - y0) * ph;
      sb.append("<line class=\"grid\" x1=\"").append(num(left)).append("\" x2=\"").append(num(left + pw))
          .append("\" y1=\"").append(num(py)).append("\" y2=\"").append(num(py)).append("\"/>");
      sb.append("<line x1=\"").append(num(left - 5)).append("\" x2=\"").append(num(left)).append("\" y1=\"")
          .append(num(py)).append("\" y2=\"").append(num(py)).append("\"/>");
      sb.append("<text x=\"").append(num(left - 8)).append("\" y=\"").append(num(py + 4))
          .append("\" text-anchor=\"end\">").append(esc(tickLabel(t, ystep))).append("</text>");
    }
    DoubleUnaryOperator xpos = v -> left + ((logX ? Math.log10(v) : v) - fx0) / (fx1 - fx0) * pw;
    for (double t : xt) {
      double px = xpos.applyAsDouble(t);
      sb.append("<line class=\"grid\" x1=\"").append(num(px)).append("\" x2=\"").append(num(px)).append("\" y1=\"")
          .append(num(top)).append("\" y2=\"").append(num(top + ph)).append("\"/>");
      sb.append("<line x1=\"").append(num(px)).append("\" x2=\"").append(num(px)).append("\" y1=\"")
          .append(num(top + ph)).append("\" y2=\"").append(num(top + ph + 5)).append("\"/>");
      sb.append("<text x=\"").append(num(px)).append("\" y=\"").append(num(top + ph + 18))
          .append("\" text-anchor=\"middle\">").append(esc(xLabelOf.apply(t))).append("</text>");
    }
    // Axis lines.
    sb.append("<line class=\"frame\" x1=\"").append(num(left)).append("\" x2=\"").append(num(left))
        .append("\" y1=\"").append(num(top)).append("\" y2=\"").append(num(top + ph)).append("\"/>");
    sb.append("<line class=\"frame\" x1=\"").append(num(left)).append("\" x2=\"").append(num(left + pw))
        .append("\" y1=\"").append(num(top + ph)).append("\" y2=\"").append(num(top + ph)).append("\"/>");
    sb.append("<text class=\"label\" x=\"").append(num(left + pw / 2)).append("\" y=\"").append(num(height - 8))
        .append("\" text-anchor=\"middle\">").append(esc(xLabel)).append("</text>");
    sb.append("<text class=\"label\" transform=\"translate(14,").append(num(top + ph / 2))
        .append(") rotate(-90)\" text-anchor=\"middle\">").append(esc(yLabel)).append("</text>");
    sb.append("</g>");

    // Series.
    for (Series s : series) {
      StringBuilder d = new StringBuilder();
      boolean pen = false;
      int finite = 0;
      for (int i = 0; i < s.x.length; i++) {
        if (!drawn(s, i, logX)) {
          pen = false;
          continue;
        }
        finite++;
        double px = xpos.applyAsDouble(s.x[i]);
        double py = top + ph - (s.y[i] - y0) / (y1 - y0) * ph;
        d.append(pen ? 'L' : 'M').append(num(px)).append(' ').append(num(py));
        pen = true;
      }
      if (finite == 0) {
        continue;
      }
      sb.append("<g class=\"series\"><title>").append(esc(s.name)).append("</title>");
      sb.append("<path d=\"").append(d).append("\" fill=\"none\" stroke=\"").append(s.color)
          .append("\" stroke-width=\"").append(num(s.width)).append("\" stroke-linejoin=\"round\"")
          .append(s.opacity < 1 ? " stroke-opacity=\"" + num(s.opacity) + "\"" : "")
          .append(s.dashed ? " stroke-dasharray=\"6 4\"" : "").append("/>");
      if (s.markers || finite == 1) {
        for (int i = 0; i < s.x.length; i++) {
          if (drawn(s, i, logX)) {
            double px = xpos.applyAsDouble(s.x[i]);
            double py = top + ph - (s.y[i] - y0) / (y1 - y0) * ph;
            sb.append("<circle cx=\"").append(num(px)).append("\" cy=\"").append(num(py))
                .append("\" r=\"3.5\" fill=\"").append(s.color).append("\"><title>")
                .append(esc(s.name + " @ "
                    + (logX ? HtmlReport.fmt(s.x[i]) : tickLabel(s.x[i], integerX ? 1 : xstep / 10)) + ": "
                    + HtmlReport.fmt(s.y[i])))
                .append("</title></circle>");
          }
        }
      }
      sb.append("</g>");
    }
    sb.append("</svg>");
    return sb.toString();
  }

  /** Sequential blue scale for f in [0, 1] (light to dark). */
  static String heat(double f) {
    if (!Double.isFinite(f)) {
      return "#f4f4f4";
    }
    f = Math.max(0, Math.min(1, f));
    int[][] stops = {{247, 251, 255}, {198, 219, 239}, {107, 174, 214}, {33, 113, 181}, {8, 48, 107}};
    double p = f * (stops.length - 1);
    int i = Math.min(stops.length - 2, (int) Math.floor(p));
    double t = p - i;
    int r = (int) Math.round(stops[i][0] + t * (stops[i + 1][0] - stops[i][0]));
    int g = (int) Math.round(stops[i][1] + t * (stops[i + 1][1] - stops[i][1]));
    int b = (int) Math.round(stops[i][2] + t * (stops[i + 1][2] - stops[i][2]));
    return String.format(Locale.ROOT, "#%02x%02x%02x", r, g, b);
  }

  static String shorten(String s, int max) {
    return s.length() <= max ? s : s.substring(0, Math.max(1, max - 1)) + "\u2026";
  }

  /**
   * The confusion matrix (rows = true class, columns = predicted) as a heat map: each cell shows its
   * count and is coloured by its share of the row (the recall of the true class for diagonal cells).
   */
  static String confusionHeatMap(double[][] m, List<String> labels) {
    int k = m.length;
    double cell = Math.max(14, Math.min(92, 520.0 / Math.max(1, k)));
    boolean showText = cell >= 26;
    boolean showPercent = cell >= 46;
    int maxChars = 16;
    double labelW = 0;
    for (String l : labels) labelW = Math.max(labelW, textWidth(shorten(l, maxChars), 12));
    labelW = Math.max(labelW, 12);
    // Column labels: horizontal when they fit the cell, otherwise rotated -45 degrees.
    boolean rotate = labelW > cell - 6;
    double colLabelH = rotate ? labelW * 0.72 + 14 : 18;
    double left = 34 + labelW + 10;
    double top = 34 + colLabelH;
    double gridW = cell * k;
    double legendW = 70;
    double width = left + gridW + 24 + legendW;
    if (rotate) {
      width = Math.max(width, left + gridW + labelW * 0.72 + 10);
    }
    double height = top + gridW + 16;
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"heatmap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(num(width))
        .append(' ').append(num(height)).append("\" width=\"").append(num(width)).append("\" height=\"")
        .append(num(height)).append("\" role=\"img\" aria-label=\"confusion matrix\">")
        .append("<title>Confusion matrix: rows are true classes, columns predicted classes</title>");
    // Axis titles.
    sb.append("<text class=\"label\" x=\"").append(num(left + gridW / 2)).append("\" y=\"14\" text-anchor=\"middle\">")
        .append("predicted class</text>");
    sb.append("<text class=\"label\" transform=\"translate(14,").append(num(top + gridW / 2))
        .append(") rotate(-90)\" text-anchor=\"middle\">true class</text>");
    for (int j = 0; j < k; j++) {
      String l = labels.get(j);
      double cx = left + j * cell + cell / 2;
      if (rotate) {
        sb.append("<text class=\"tick\" transform=\"translate(").append(num(cx + 4)).append(',').append(num(top - 6))
            .append(") rotate(-45)\" text-anchor=\"start\"><title>").append(esc(l)).append("</title>")
            .append(esc(shorten(l, maxChars))).append("</text>");
      } else {
        sb.append("<text class=\"tick\" x=\"").append(num(cx)).append("\" y=\"").append(num(top - 6))
            .append("\" text-anchor=\"middle\"><title>").append(esc(l)).append("</title>")
            .append(esc(shorten(l, maxChars))).append("</text>");
      }
    }
    for (int i = 0; i < k; i++) {
      double rowSum = 0;
      for (int j = 0; j < k; j++) rowSum += m[i][j];
      double cy = top + i * cell;
      String l = labels.get(i);
      sb.append("<text class=\"tick\" x=\"").append(num(left - 8)).append("\" y=\"").append(num(cy + cell / 2 + 4))
          .append("\" text-anchor=\"end\"><title>").append(esc(l)).append("</title>")
          .append(esc(shorten(l, maxChars))).append("</text>");
      for (int j = 0; j < k; j++) {
        double f = rowSum > 0 ? m[i][j] / rowSum : Double.NaN;
        double cx = left + j * cell;
        String count = HtmlReport.count(m[i][j]);
        String pct = Double.isFinite(f) ? String.format(Locale.ROOT, "%.1f%%", 100 * f) : "n/a";
        sb.append("<g class=\"cell").append(i == j ? " diag" : "").append("\" data-row=\"").append(i)
            .append("\" data-col=\"").append(j).append("\"><title>")
            .append(esc("true " + l + ", predicted " + labels.get(j) + ": " + count + " (" + pct + " of the row)"))
            .append("</title><rect x=\"").append(num(cx)).append("\" y=\"").append(num(cy)).append("\" width=\"")
            .append(num(cell)).append("\" height=\"").append(num(cell)).append("\" fill=\"").append(heat(f))
            .append("\" stroke=\"#ffffff\" stroke-width=\"1\"/>");
        if (showText) {
          // Inline styles: the page's CSS for svg text would override presentation attributes.
          String fill = Double.isFinite(f) && f > 0.45 ? "#ffffff" : "#1a1a1a";
          double fs = Math.min(16, Math.max(9, cell / 4.2));
          // Counts must fit the cell; shrink the font for long numbers.
          fs = Math.min(fs, (cell - 4) / Math.max(1, count.length() * 0.6));
          double ty = showPercent ? cy + cell / 2 : cy + cell / 2 + fs * 0.35;
          sb.append("<text x=\"").append(num(cx + cell / 2)).append("\" y=\"").append(num(ty))
              .append("\" text-anchor=\"middle\" class=\"count\" style=\"fill:").append(fill).append(";font-size:")
              .append(num(fs)).append("px\">").append(esc(count)).append("</text>");
          if (showPercent) {
            sb.append("<text x=\"").append(num(cx + cell / 2)).append("\" y=\"").append(num(cy + cell / 2 + 16))
                .append("\" text-anchor=\"middle\" style=\"fill:").append(fill)
                .append(";font-size:11px\" opacity=\"0.9\">")
                .append(esc(pct)).append("</text>");
          }
        }
        sb.append("</g>");
      }
    }
    // Colour legend: share of the row, 0 to 100 %.
    double lx = left + gridW + 24;
    double lh = Math.min(gridW, 200);
    sb.append("<defs><linearGradient id=\"heatScale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">");
    for (int s = 0; s <= 4; s++) {
      sb.append("<stop offset=\"").append(s * 25).append("%\" stop-color=\"").append(heat(s / 4.0)).append("\"/>");
    }
    sb.append("</linearGradient></defs>");
    sb.append("<rect x=\"").append(num(lx)).append("\" y=\"").append(num(top)).append("\" width=\"14\" height=\"")
        .append(num(lh)).append("\" fill=\"url(#heatScale)\" stroke=\"#999\"/>");
    sb.append("<text class=\"tick\" x=\"").append(num(lx + 18)).append("\" y=\"").append(num(top + 9))
        .append("\">100%</text>");
    sb.append("<text class=\"tick\" x=\"").append(num(lx + 18)).append("\" y=\"").append(num(top + lh))
        .append("\">0%</text>");
    sb.append("<text class=\"tick\" x=\"").append(num(lx + 18)).append("\" y=\"").append(num(top + lh / 2 + 4))
        .append("\">of row</text>");
    sb.append("</svg>");
    return sb.toString();
  }

  /** A horizontal bar chart: one bar per entry, the label left and value text right of the bar. */
  static String barChart(String ariaLabel, List<String> labels, double[] values, List<String> valueTexts,
      int width) {
    double labelW = 0;
    for (String l : labels) labelW = Math.max(labelW, textWidth(l, 13));
    double valueW = 0;
    for (String v : valueTexts) valueW = Math.max(valueW, textWidth(v, 12));
    double left = labelW + 16;
    double right = valueW + 14;
    double barH = 22;
    double gap = 10;
    double top = 8;
    double height = top + labels.size() * (barH + gap) + 4;
    double max = 0;
    for (double v : values) {
      if (Double.isFinite(v)) {
        max = Math.max(max, v);
      }
    }
    double pw = Math.max(60, width - left - right);
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"bars\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(width).append(' ')
        .append(num(height)).append("\" width=\"").append(width).append("\" height=\"").append(num(height))
        .append("\" role=\"img\" aria-label=\"").append(esc(ariaLabel)).append("\"><title>").append(esc(ariaLabel))
        .append("</title>");
    for (int i = 0; i < labels.size(); i++) {
      double y = top + i * (barH + gap);
      double v = Double.isFinite(values[i]) ? Math.max(0, values[i]) : 0;
      double w = max > 0 ? v / max * pw : 0;
      sb.append("<g class=\"bar\"><title>").append(esc(labels.get(i) + ": " + valueTexts.get(i))).append("</title>");
      sb.append("<text x=\"").append(num(left - 8)).append("\" y=\"").append(num(y + barH / 2 + 5))
          .append("\" text-anchor=\"end\" style=\"font-size:13px\">").append(esc(labels.get(i))).append("</text>");
      sb.append("<rect x=\"").append(num(left)).append("\" y=\"").append(num(y)).append("\" width=\"")
          .append(num(Math.max(w, 1))).append("\" height=\"").append(num(barH)).append("\" rx=\"3\" fill=\"")
          .append(PALETTE[i % (PALETTE.length - 1)]).append("\"/>");
      sb.append("<text x=\"").append(num(left + Math.max(w, 1) + 6)).append("\" y=\"")
          .append(num(y + barH / 2 + 4)).append("\" style=\"font-size:12px\">").append(esc(valueTexts.get(i)))
          .append("</text></g>");
    }
    sb.append("</svg>");
    return sb.toString();
  }

  /** Most points a box plot draws one by one (beyond that, only the box and whiskers). */
  static final int BOX_POINTS_MAX = 200;

  /** The q-quantile of sorted values, interpolated linearly between order statistics (R's type 7). */
  static double quantile(double[] sorted, double q) {
    if (sorted.length == 0) {
      return Double.NaN;
    }
    double h = (sorted.length - 1) * q;
    int lo = (int) Math.floor(h);
    int hi = Math.min(sorted.length - 1, lo + 1);
    return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
  }

  /**
   * Horizontal box plots, one row per entry of {@code values} (each sorted here; NaN values dropped):
   * the box from the first to the third quartile, a line at the median, whiskers to the minimum and
   * the maximum, and, up to {@link #BOX_POINTS_MAX} values, every value as a dot (spread vertically
   * by its rank so that equal values stay visible). Labels left, "n, median" right.
   */
  static String boxPlot(String ariaLabel, String xLabel, List<String> labels, List<double[]> values, int width) {
    List<double[]> sorted = new ArrayList<>();
    double min = Double.POSITIVE_INFINITY;
    double max = Double.NEGATIVE_INFINITY;
    for (double[] v : values) {
      double[] f = Arrays.stream(v).filter(x -> !Double.isNaN(x)).sorted().toArray();
      sorted.add(f);
      if (f.length > 0) {
        min = Math.min(min, f[0]);
        max = Math.max(max, f[f.length - 1]);
      }
    }
    double labelW = 0;
    for (String l : labels) labelW = Math.max(labelW, textWidth(shorten(l, 64), 12));
    double left = Math.min(labelW + 16, width * 0.55);
    int maxChars = (int) Math.max(8, (left - 16) / (12 * 0.6));
    double right = 16;
    for (double[] v : sorted) {
      double med = v.length == 0 ? 0 : quantile(v, 0.5);
      right = Math.max(right, 16 + textWidth("n " + v.length + ", median " + HtmlReport.fmt(med), 12));
    }
    double rowH = 30;
    double top = 10;
    double height = top + labels.size() * rowH + 44;
    double pw = Math.max(80, width - left - right);
    StringBuilder sb = new StringBuilder();
    sb.append("<svg class=\"chart boxplot\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ").append(width)
        .append(' ').append(num(height)).append("\" width=\"").append(width).append("\" height=\"").append(num(height))
        .append("\" role=\"img\" aria-label=\"").append(esc(ariaLabel)).append("\"><title>").append(esc(ariaLabel))
        .append("</title>");
    if (min > max) {
      sb.append("<text x=\"").append(width / 2).append("\" y=\"").append(num(height / 2))
          .append("\" text-anchor=\"middle\" class=\"muted\">no data</text></svg>");
      return sb.toString();
    }
    double[] xt = niceTicks(min, max, 6, false);
    double xstep = xt.length > 1 ? xt[1] - xt[0] : 1;
    double x0 = xt[0];
    double x1 = xt[xt.length - 1];
    double ph = labels.size() * rowH;
    sb.append("<g class=\"axis\">");
    for (double t : xt) {
      double px = left + (t - x0) / (x1 - x0) * pw;
      sb.append("<line class=\"grid\" x1=\"").append(num(px)).append("\" x2=\"").append(num(px)).append("\" y1=\"")
          .append(num(top)).append("\" y2=\"").append(num(top + ph)).append("\"/>");
      sb.append("<text x=\"").append(num(px)).append("\" y=\"").append(num(top + ph + 16))
          .append("\" text-anchor=\"middle\">").append(esc(tickLabel(t, xstep))).append("</text>");
    }
    sb.append("<line class=\"frame\" x1=\"").append(num(left)).append("\" x2=\"").append(num(left + pw))
        .append("\" y1=\"").append(num(top + ph)).append("\" y2=\"").append(num(top + ph)).append("\"/>");
    sb.append("<text class=\"label\" x=\"").append(num(left + pw / 2)).append("\" y=\"").append(num(height - 6))
        .append("\" text-anchor=\"middle\">").append(esc(xLabel)).append("</text></g>");
    for (int i = 0; i < labels.size(); i++) {
      double[] v = sorted.get(i);
      double cy = top + i * rowH + rowH / 2;
      String color = PALETTE[i % PALETTE.length];
      String label = labels.get(i);
      sb.append("<g class=\"box\"><text x=\"").append(num(left - 8)).append("\" y=\"").append(num(cy + 4))
          .append("\" text-anchor=\"end\"><title>").append(esc(label)).append("</title>")
          .append(esc(shorten(label, maxChars))).append("</text>");
      if (v.length == 0) {
        sb.append("<text x=\"").append(num(left + 4)).append("\" y=\"").append(num(cy + 4))
            .append("\" class=\"muted\">no rows</text></g>");
        continue;
      }
      double q1 = quantile(v, 0.25);
      double med = quantile(v, 0.5);
      double q3 = quantile(v, 0.75);
      double pMin = left + (v[0] - x0) / (x1 - x0) * pw;
      double pMax = left + (v[v.length - 1] - x0) / (x1 - x0) * pw;
      double p1 = left + (q1 - x0) / (x1 - x0) * pw;
      double pm = left + (med - x0) / (x1 - x0) * pw;
      double p3 = left + (q3 - x0) / (x1 - x0) * pw;
      sb.append("<title>").append(esc(label + ": " + v.length + " silos; min " + HtmlReport.fmt(v[0]) + ", q1 "
          + HtmlReport.fmt(q1) + ", median " + HtmlReport.fmt(med) + ", q3 " + HtmlReport.fmt(q3) + ", max "
          + HtmlReport.fmt(v[v.length - 1]))).append("</title>");
      sb.append("<line x1=\"").append(num(pMin)).append("\" x2=\"").append(num(pMax)).append("\" y1=\"")
          .append(num(cy)).append("\" y2=\"").append(num(cy)).append("\" stroke=\"").append(color)
          .append("\" stroke-width=\"1.5\"/>");
      for (double px : new double[] {pMin, pMax}) {
        sb.append("<line x1=\"").append(num(px)).append("\" x2=\"").append(num(px)).append("\" y1=\"")
            .append(num(cy - 6)).append("\" y2=\"").append(num(cy + 6)).append("\" stroke=\"").append(color)
            .append("\" stroke-width=\"1.5\"/>");
      }
      sb.append("<rect x=\"").append(num(p1)).append("\" y=\"").append(num(cy - 9)).append("\" width=\"")
          .append(num(Math.max(1, p3 - p1))).append("\" height=\"18\" fill=\"").append(color)
          .append("\" fill-opacity=\"0.25\" stroke=\"").append(color).append("\" stroke-width=\"1.5\"/>");
      sb.append("<line class=\"median\" x1=\"").append(num(pm)).append("\" x2=\"").append(num(pm)).append("\" y1=\"")
          .append(num(cy - 9)).append("\" y2=\"").append(num(cy + 9)).append("\" stroke=\"").append(color)
          .append("\" stroke-width=\"3\"/>");
      if (v.length <= BOX_POINTS_MAX) {
        for (int j = 0; j < v.length; j++) {
          double px = left + (v[j] - x0) / (x1 - x0) * pw;
          double py = cy - 7 + 14.0 * ((j * 7) % 11) / 10.0;
          sb.append("<circle class=\"point\" cx=\"").append(num(px)).append("\" cy=\"").append(num(py))
              .append("\" r=\"2\" fill=\"#1a1a1a\" fill-opacity=\"0.55\"/>");
        }
      }
      sb.append("<text x=\"").append(num(left + pw + 8)).append("\" y=\"").append(num(cy + 4))
          .append("\" style=\"font-size:12px\">").append(esc("n " + v.length + ", median " + HtmlReport.fmt(med)))
          .append("</text></g>");
    }
    sb.append("</svg>");
    return sb.toString();
  }
}
