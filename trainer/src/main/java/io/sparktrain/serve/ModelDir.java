package io.sparktrain.serve;

import io.sparktrain.model.NetworkFile;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The two files of a saved model directory that the Predictor reads, with java.nio only:
 * {@code data/network.bin} ({@link NetworkFile}) and the class name in Spark ML's metadata,
 * {@code metadata/part-*} (one JSON object per model: class, uid, params).
 */
final class ModelDir {
  private ModelDir() {
  }

  /** The data file's bytes; an error names the file when it is missing. */
  static byte[] networkBytes(Path dir) throws IOException {
    Path file = dir.resolve(NetworkFile.PATH);
    if (!Files.isRegularFile(file)) {
      throw new IOException(dir + ": not a saved sparktrain model: " + file + " is missing");
    }
    return Files.readAllBytes(file);
  }

  /** The {@code class} of the model's metadata; an error names what is missing. */
  static String modelClass(Path dir) throws IOException {
    Path meta = dir.resolve("metadata");
    List<Path> parts = List.of();
    if (Files.isDirectory(meta)) {
      try (Stream<Path> s = Files.list(meta)) {
        parts = s.filter(p -> p.getFileName().toString().startsWith("part-") && Files.isRegularFile(p)).sorted()
            .collect(Collectors.toList());
      }
    }
    if (parts.isEmpty()) {
      throw new IOException(dir + ": not a saved sparktrain model: " + meta.resolve("part-*") + " is missing");
    }
    for (Path p : parts) {
      String json = Files.readString(p, StandardCharsets.UTF_8).trim();
      if (!json.isEmpty()) {
        String cls = topLevelString(json, "class");
        if (cls == null) {
          throw new IOException(p + ": expected Spark ML metadata with a \"class\" field, found none");
        }
        return cls;
      }
    }
    throw new IOException(dir + ": expected Spark ML metadata in " + meta + ", found only empty part files");
  }

  /**
   * The string value of key {@code key} of the top level of the JSON object {@code json}, or null when
   * it has none (nested objects and arrays are skipped; enough JSON for Spark's metadata line).
   */
  static String topLevelString(String json, String key) {
    int depth = 0;
    int i = 0;
    while (i < json.length()) {
      char c = json.charAt(i);
      if (c == '"') {
        StringBuilder sb = new StringBuilder();
        i = readString(json, i, sb);
        if (depth != 1) {
          continue;
        }
        int j = skipSpace(json, i);
        if (j < json.length() && json.charAt(j) == ':' && sb.toString().equals(key)) {
          j = skipSpace(json, j + 1);
          if (j < json.length() && json.charAt(j) == '"') {
            StringBuilder value = new StringBuilder();
            readString(json, j, value);
            return value.toString();
          }
          return null;
        }
        continue;
      }
      if (c == '{' || c == '[') {
        depth++;
      } else if (c == '}' || c == ']') {
        depth--;
      }
      i++;
    }
    return null;
  }

  /** Reads the string literal starting at {@code json[at] == '"'} into {@code out}; returns the index after it. */
  private static int readString(String json, int at, StringBuilder out) {
    int i = at + 1;
    while (i < json.length()) {
      char c = json.charAt(i++);
      if (c == '"') {
        return i;
      }
      if (c == '\\' && i < json.length()) {
        char e = json.charAt(i++);
        switch (e) {
          case 'n': out.append('\n'); break;
          case 't': out.append('\t'); break;
          case 'r': out.append('\r'); break;
          case 'b': out.append('\b'); break;
          case 'f': out.append('\f'); break;
          case 'u':
            if (i + 4 <= json.length()) {
              out.append((char) Integer.parseInt(json.substring(i, i + 4), 16));
              i += 4;
            }
            break;
          default: out.append(e);
        }
      } else {
        out.append(c);
      }
    }
    return i;
  }

  private static int skipSpace(String s, int i) {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
    return i;
  }
}
