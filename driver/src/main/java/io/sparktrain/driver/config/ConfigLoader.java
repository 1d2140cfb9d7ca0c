package io.sparktrain.driver.config;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;
import org.yaml.snakeyaml.error.YAMLException;

/**
 * Reads a job config: the YAML file (or text) and the {@code --set key.path=value} overrides, each
 * value parsed as YAML, merged into one raw tree of nested maps. Validation is
 * {@link ConfigValidator}'s; {@link JobConfig} puts the two together.
 */
final class ConfigLoader {
  private ConfigLoader() {
  }

  /** Reads {@code file} (a local path) and applies the overrides: the raw tree, not yet validated. */
  static Map<String, Object> read(Path file, List<String> overrides) {
    String text;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
    } catch (NoSuchFileException e) {
      throw new ConfigException(file + ": no such config file");
    } catch (IOException e) {
      throw new ConfigException(file + ": cannot read the config file: " + e.getMessage());
    }
    return parse(text, file.toString(), overrides);
  }

  /** Parses YAML {@code text} (named {@code source} in messages) and applies the overrides. */
  static Map<String, Object> parse(String text, String source, List<String> overrides) {
    Object doc;
    try {
      doc = yaml().load(text);
    } catch (MarkedYAMLException e) {
      Mark m = e.getProblemMark();
      throw new ConfigException(source + ": invalid YAML" + (m == null ? "" : " at line " + (m.getLine() + 1)
          + ", column " + (m.getColumn() + 1)) + ": " + oneLine(e.getProblem()));
    } catch (YAMLException e) {
      throw new ConfigException(source + ": invalid YAML: " + oneLine(e.getMessage()));
    }
    if (doc != null && !(doc instanceof Map)) {
      throw new ConfigException(source + ": expected a YAML map of sections (data, model, training, ...), found "
          + ConfigValidator.describe(doc));
    }
    Map<String, Object> raw = doc == null ? new LinkedHashMap<>() : stringKeys((Map<?, ?>) doc);
    for (String o : overrides == null ? List.<String>of() : overrides) applyOverride(raw, o);
    return raw;
  }

  private static Yaml yaml() {
    LoaderOptions o = new LoaderOptions();
    o.setAllowDuplicateKeys(false);
    return new Yaml(new SafeConstructor(o));
  }

  /** Parses one {@code --set key.path=value} value as YAML (a scalar, list or map). */
  static Object parseValue(String key, String value) {
    if (value.isEmpty()) {
      return null;
    }
    try {
      return yaml().load(value);
    } catch (YAMLException e) {
      throw new ConfigException("--set " + key + ": invalid YAML value '" + value + "'");
    }
  }

  private static void applyOverride(Map<String, Object> raw, String override) {
    int eq = override.indexOf('=');
    if (eq <= 0) {
      throw new ConfigException("--set " + override + ": expected key.path=value");
    }
    String key = override.substring(0, eq).trim();
    if (key.isEmpty() || key.startsWith(".") || key.endsWith(".") || key.contains("..")) {
      throw new ConfigException("--set " + override + ": expected key.path=value");
    }
    Object value = parseValue(key, override.substring(eq + 1).trim());
    if (value instanceof Map) {
      value = stringKeys((Map<?, ?>) value);
    }
    String[] parts = key.split("\\.");
    Map<String, Object> m = raw;
    for (int i = 0; i < parts.length - 1; i++) {
      Object next = m.get(parts[i]);
      if (!(next instanceof Map)) {
        next = new LinkedHashMap<String, Object>();
        m.put(parts[i], next);
      }
      @SuppressWarnings("unchecked")
      Map<String, Object> nm = (Map<String, Object>) next;
      m = nm;
    }
    m.put(parts[parts.length - 1], value);
  }

  private static Map<String, Object> stringKeys(Map<?, ?> m) {
    Map<String, Object> out = new LinkedHashMap<>();
    for (Map.Entry<?, ?> e : m.entrySet()) {
      Object v = e.getValue();
      out.put(String.valueOf(e.getKey()), v instanceof Map ? stringKeys((Map<?, ?>) v) : v);
    }
    return out;
  }

  static String oneLine(String s) {
    return s == null ? "" : s.replaceAll("\\s*\\n\\s*", " ").trim();
  }
}
