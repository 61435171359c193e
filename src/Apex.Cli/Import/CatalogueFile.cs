using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;
using CsvHelper;
using CsvHelper.Configuration;
using Parquet;

namespace Apex.Cli.Import;

/// <summary>
/// Reads a catalogue as CSV (with a header), JSON Lines or Parquet into rows of the fields POST
/// /tracks/batch takes. Columns it does not know are left out (and named once); values are typed here
/// (counts as integers, instrumental as a boolean), and a value that is not is the row's error, so
/// the host only ever sees well-typed rows. Rows stream: a file of millions is never held whole.
/// </summary>
internal static class CatalogueFile
{
    public static readonly string[] Columns = ["track_id", "platform", "created_at", "audio_path", "instrumental", "system", "prompt", "streams", "likes", "counts_at"];

    private static readonly Dictionary<string, string> Aliases = new(StringComparer.OrdinalIgnoreCase) { ["audio"] = "audio_path", ["media_key"] = "audio_path" };

    public static string FormatOf(string path, string? format) =>
        format ?? Path.GetExtension(path).ToLowerInvariant() switch
        {
            ".csv" => "csv",
            ".jsonl" or ".ndjson" => "jsonl",
            ".parquet" => "parquet",
            var other => throw new InvalidDataException($"{path}: cannot tell the format from '{other}'; give --format csv|jsonl|parquet."),
        };

    /// <summary>How many rows the file holds (a quick pass for text, the footer for Parquet), for the progress bar.</summary>
    public static async Task<long> CountAsync(string path, string format, CancellationToken cancellationToken)
    {
        if (format == "parquet")
        {
            await using var parquet = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
            return parquet.Metadata?.NumRows ?? 0;
        }

        long lines = 0;
        foreach (var line in File.ReadLines(path))
        {
            lines += line.Length > 0 ? 1 : 0;
        }

        return format == "csv" ? Math.Max(0, lines - 1) : lines;
    }

    public static IAsyncEnumerable<CatalogueRow> ReadAsync(string path, string format, Action<string> note, CancellationToken cancellationToken) => format switch
    {
        "csv" => ReadCsvAsync(path, note, cancellationToken),
        "jsonl" => ReadJsonLinesAsync(path, note, cancellationToken),
        "parquet" => ReadParquetAsync(path, note, cancellationToken),
        _ => throw new InvalidDataException($"unknown format '{format}': csv, jsonl or parquet."),
    };

    private static string? Column(string name) =>
        Aliases.TryGetValue(name, out var alias) ? alias : Columns.FirstOrDefault(c => c.Equals(name, StringComparison.OrdinalIgnoreCase));

    private static async IAsyncEnumerable<CatalogueRow> ReadCsvAsync(string path, Action<string> note, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var text = new StreamReader(path);
        using var csv = new CsvReader(text, new CsvConfiguration(CultureInfo.InvariantCulture) { DetectDelimiter = true, TrimOptions = TrimOptions.Trim });
        if (!await csv.ReadAsync() || !csv.ReadHeader())
        {
            yield break;
        }

        var header = csv.HeaderRecord ?? [];
        Unknown(header, note);
        while (await csv.ReadAsync())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var fields = new Dictionary<string, object>(StringComparer.Ordinal);
            string? error = null;
            for (var i = 0; i < header.Length; i++)
            {
                if (Column(header[i]) is { } column && csv.GetField(i) is { Length: > 0 } value)
                {
                    error ??= Put(fields, column, value);
                }
            }

            yield return new CatalogueRow(csv.Parser.RawRow, fields, error);
        }
    }

    private static async IAsyncEnumerable<CatalogueRow> ReadJsonLinesAsync(string path, Action<string> note, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var unknown = new SortedSet<string>(StringComparer.Ordinal);
        long line = 0;
        using var text = new StreamReader(path);
        while (await text.ReadLineAsync(cancellationToken) is { } raw)
        {
            line++;
            if (raw.Length == 0)
            {
                continue;
            }

            var fields = new Dictionary<string, object>(StringComparer.Ordinal);
            string? error = null;
            try
            {
                using var document = JsonDocument.Parse(raw);
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                {
                    error = "not a JSON object";
                }
                else
                {
                    foreach (var property in document.RootElement.EnumerateObject())
                    {
                        if (Column(property.Name) is not { } column)
                        {
                            unknown.Add(property.Name);
                            continue;
                        }

                        error ??= property.Value.ValueKind switch
                        {
                            JsonValueKind.Null => null,
                            JsonValueKind.String => Put(fields, column, property.Value.GetString()!),
                            JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => Put(fields, column, property.Value.GetRawText()),
                            _ => $"{column}: not a string, number or boolean",
                        };
                    }
                }
            }
            catch (JsonException ex)
            {
                error = $"not valid JSON ({ex.Message.Split('.')[0]})";
            }

            yield return new CatalogueRow(line, fields, error);
        }

        if (unknown.Count > 0)
        {
            note($"columns left out (not fields of a track): {string.Join(", ", unknown)}");
        }
    }

    private static async IAsyncEnumerable<CatalogueRow> ReadParquetAsync(string path, Action<string> note, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await using var reader = await ParquetReader.CreateAsync(path, cancellationToken: cancellationToken);
        var dataFields = reader.Schema.GetDataFields();
        Unknown([.. dataFields.Select(f => f.Name)], note);
        var known = dataFields.Select(f => (Field: f, Column: Column(f.Name))).Where(f => f.Column is not null).ToList();
        long row = 0;
        for (var group = 0; group < reader.RowGroupCount; group++)
        {
            using var rowGroup = reader.OpenRowGroupReader(group);
            var rows = (int)rowGroup.RowCount;
            var columns = new List<(string Column, Array Data)>(known.Count);
            foreach (var (field, column) in known)
            {
                columns.Add((column!, await ReadColumnAsync(rowGroup, field, rows, cancellationToken)));
            }

            for (var r = 0; r < rows; r++)
            {
                var fields = new Dictionary<string, object>(StringComparer.Ordinal);
                string? error = null;
                foreach (var (column, data) in columns)
                {
                    if (Text(data.GetValue(r)) is { Length: > 0 } value)
                    {
                        error ??= Put(fields, column, value);
                    }
                }

                yield return new CatalogueRow(++row, fields, error);
            }
        }
    }

    /// <summary>One column of a row group as values (null where the file has none), by the column's type.</summary>
    private static async Task<Array> ReadColumnAsync(ParquetRowGroupReader group, Parquet.Schema.DataField field, int rows, CancellationToken cancellationToken)
    {
        async Task<Array> Values<T>()
            where T : struct
        {
            var values = new T?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, cancellationToken);
            return values;
        }

        var type = field.ClrType;
        if (type == typeof(string) || type == typeof(ReadOnlyMemory<char>))
        {
            var values = new string?[rows];
            await group.ReadAsync(field, values.AsMemory(), null, cancellationToken);
            return values;
        }

        return type == typeof(long) ? await Values<long>()
            : type == typeof(int) ? await Values<int>()
            : type == typeof(bool) ? await Values<bool>()
            : type == typeof(double) ? await Values<double>()
            : type == typeof(DateTime) ? await Values<DateTime>()
            : type == typeof(DateTimeOffset) ? await Values<DateTimeOffset>()
            : throw new InvalidDataException($"column '{field.Name}' is of a type a catalogue does not take ({type.Name}).");
    }

    /// <summary>A Parquet value as the text a CSV would hold (times in ISO 8601 with their offset; timestamps are UTC).</summary>
    private static string? Text(object? value) => value switch
    {
        null => null,
        DateTime t => DateTime.SpecifyKind(t, DateTimeKind.Utc).ToString("O", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("O", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    /// <summary>Types one value into its field; the error when it is not of its field's type.</summary>
    private static string? Put(Dictionary<string, object> fields, string column, string value)
    {
        switch (column)
        {
            case "streams" or "likes":
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var count))
                {
                    return $"{column}: '{value}' is not a whole number of 0 or more";
                }

                fields[column] = count;
                return null;
            case "instrumental":
                bool? flag = value.ToLowerInvariant() switch { "true" or "1" or "yes" => true, "false" or "0" or "no" => false, _ => null };
                if (flag is null)
                {
                    return $"instrumental: '{value}' is not true or false";
                }

                fields[column] = flag.Value;
                return null;
            case "created_at" or "counts_at":
                // The host's rule, checked here so one bad time refuses its row, not the whole batch.
                if (!Apex.Silo.Hosting.ExplicitOffsetTimeConverter.TryParse(value, out _))
                {
                    return $"{column}: '{value}' is not {Apex.Silo.Hosting.ExplicitOffsetTimeConverter.Rule}";
                }

                fields[column] = value;
                return null;
            default:
                fields[column] = value;
                return null;
        }
    }

    private static void Unknown(IEnumerable<string> header, Action<string> note)
    {
        var unknown = header.Where(h => Column(h) is null).ToList();
        if (unknown.Count > 0)
        {
            note($"columns left out (not fields of a track): {string.Join(", ", unknown)}");
        }
    }
}
