package io.sparktrain.ml;

import io.sparktrain.train.TrainResult;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a fit produced besides the parameters: the {@code MetricsHistory} records (one map per
 * round and per epoch, as written by the trainer's listeners), the final validation metrics and
 * why training stopped. Available from a freshly fitted model's {@code summary()}; not saved with
 * the model (as in MLlib).
 */
public final class NeuralNetTrainingSummary implements Serializable {
  private static final long serialVersionUID = 1L;

  private final List<Map<String, Object>> records;
  private final Map<String, Double> finalValidation;
  private final long rounds;
  private final int epochs;
  private final String stopReason;
  private final double trainSeconds;
  private final long trainRows;
  private final long validationRows;
  private final double[] pretrainLosses;

  NeuralNetTrainingSummary(TrainResult r, long trainRows, long validationRows) {
    this(r, trainRows, validationRows, List.of());
  }

  NeuralNetTrainingSummary(TrainResult r, long trainRows, long validationRows, List<Double> pretrainLosses) {
    List<Map<String, Object>> recs = new ArrayList<>();
    for (Map<String, Object> m : r.history().records()) {
      recs.add(Collections.unmodifiableMap(new LinkedHashMap<>(m)));
    }
    this.records = Collections.unmodifiableList(recs);
    this.finalValidation = Collections.unmodifiableMap(new LinkedHashMap<>(r.finalValidation()));
    this.rounds = r.rounds();
    this.epochs = r.epochs();
    this.stopReason = r.stopReason();
    this.trainSeconds = r.trainSeconds();
    this.trainRows = trainRows;
    this.validationRows = validationRows;
    this.pretrainLosses = pretrainLosses.stream().mapToDouble(Double::doubleValue).toArray();
  }

  /** The mean reconstruction loss (MSE) of each pretraining epoch; empty without pretraining. */
  public double[] pretrainLossHistory() { return pretrainLosses.clone(); }

  /** Every round and epoch record, oldest first (key "type" is "round" or "epoch"). */
  public List<Map<String, Object>> history() { return records; }

  /** The records of one type: "round" or "epoch". */
  public List<Map<String, Object>> history(String type) {
    List<Map<String, Object>> out = new ArrayList<>();
    for (Map<String, Object> m : records) {
      if (type.equals(m.get("type"))) {
        out.add(m);
      }
    }
    return out;
  }

  /** The mean training loss of each epoch (like MLlib's objectiveHistory, per epoch). */
  public double[] lossHistory() {
    List<Map<String, Object>> ep = history("epoch");
    double[] out = new double[ep.size()];
    for (int i = 0; i < out.length; i++) out[i] = ((Number) ep.get(i).get("loss")).doubleValue();
    return out;
  }

  /** Validation metrics (val_*) of the returned parameters; empty without validation data. */
  public Map<String, Double> finalValidation() { return finalValidation; }
  public long rounds() { return rounds; }
  public int epochs() { return epochs; }
  /** "epochs", "max_rounds" or "early_stopping". */
  public String stopReason() { return stopReason; }
  public double trainSeconds() { return trainSeconds; }
  public long trainRows() { return trainRows; }
  /** Rows held out by validationFraction (0 without validation). */
  public long validationRows() { return validationRows; }

  @Override
  public String toString() {
    return "NeuralNetTrainingSummary(epochs=" + epochs + ", rounds=" + rounds + ", stop=" + stopReason
        + ", trainRows=" + trainRows + ", validationRows=" + validationRows + ", finalValidation="
        + finalValidation + ")";
  }
}
