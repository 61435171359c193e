using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Apex.Audio.Decoding;
using Apex.Embedding.Encoding;
using Apex.Grains.Scoring;
using Microsoft.Extensions.Logging;

namespace Apex.Scoring;

/// <summary>
/// The silo's embedders: per device one ONNX Runtime session fed by a dynamic batcher. Tracks are
/// decoded on a bounded pool (ffmpeg runs as its own process; the pool bounds how many at once), their
/// segments join one queue, and a dedicated thread per device takes up to MaxBatch segments, waiting
/// at most MaxWait for a batch to fill, runs them as one encoder call and hands each track its rows
/// (Triton's dynamic batching, by hand: no library on the mirror does this for ONNX Runtime in .NET).
/// </summary>
public sealed partial class OnnxEmbeddingBackend : IEmbeddingBackend, IDisposable
{
    public const string MeterName = "Apex.Embedding";

    private readonly ScoringOptions _options;
    private readonly MediaLocations _media;
    private readonly ConcurrentDictionary<int, FfmpegAudioDecoder> _decoders = new();
    private readonly ILoggerFactory _loggers;
    private readonly SemaphoreSlim _decodes;
    private readonly ConcurrentDictionary<int, Lazy<DeviceBatcher>> _devices = new();
    private readonly Histogram<int> _batchSizes;
    private readonly Counter<long> _segmentsEncoded;
    private readonly Counter<long> _decodeFailures;

    public OnnxEmbeddingBackend(ScoringOptions options, MediaLocations media, ILoggerFactory loggers, IMeterFactory? meters = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _media = media;
        _loggers = loggers;
        _decodes = new SemaphoreSlim(options.DecodeConcurrency);
        var meter = meters?.Create(MeterName) ?? new Meter(MeterName);
        _batchSizes = meter.CreateHistogram<int>("apex.embedding.batch.size", "{segment}", "Segments per encoder run.");
        _segmentsEncoded = meter.CreateCounter<long>("apex.embedding.segments", "{segment}", "Segments embedded.");
        _decodeFailures = meter.CreateCounter<long>("apex.embedding.decode.failures", "{track}", "Tracks whose audio could not be decoded, by reason.");
        meter.CreateObservableGauge("apex.embedding.queue.depth", () => _devices.Values.Where(d => d.IsValueCreated).Sum(d => d.Value.Admitted), "{track}", "Tracks admitted by this silo's embedders and not yet answered.");
    }

    public async Task<EmbedOutcome> EmbedAsync(int device, EmbedJob job, string silo, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        var batcher = Batcher(device);
        if (!batcher.TryAdmit())
        {
            return EmbedOutcome.Busy(silo);
        }

        try
        {
            DecodedAudio audio;
            var resolved = _media.Resolve(job.AudioLocation);
            // Each full segment goes to the encoder while the rest decodes.
            var track = batcher.Start();
            var handedOut = 0;
            await _decodes.WaitAsync(cancellationToken);
            try
            {
                // At the rate the encoder declares, as the CLI decodes (a 16 kHz encoder gets 16 kHz audio).
                audio = await Decoder(batcher.Info.SampleRate).DecodeAsync(resolved, clip: null, (index, samples) =>
                {
                    batcher.Add(track, index, samples);
                    handedOut = index + 1;
                }, cancellationToken);
            }
            catch (AudioDecodeException ex) when (ex.Kind is not (AudioErrorKind.FfmpegMissing or AudioErrorKind.TimedOut))
            {
                // FfmpegMissing and TimedOut are this silo's trouble, not the audio's: they stay exceptions (retried).
                track.Abandon();
                _decodeFailures.Add(1, new KeyValuePair<string, object?>("reason", ex.Kind.ToString()));
                // The reason names the track's audio as registered, never the server's path to it.
                return new EmbedOutcome(EmbedStatus.BadAudio, $"{ex.Kind}: {ex.Message.Replace(resolved, job.AudioLocation, StringComparison.Ordinal)}", 0, 0, 0, null, batcher.EncoderName, silo, 0);
            }
            catch
            {
                track.Abandon();
                throw;
            }
            finally
            {
                _decodes.Release();
            }

            for (var i = handedOut; i < audio.Segments.Count; i++)
            {
                batcher.Add(track, i, audio.Segments[i]);
            }

            var values = await track.WaitAsync(audio.Segments.Count, cancellationToken);
            _segmentsEncoded.Add(audio.Segments.Count);
            return new EmbedOutcome(EmbedStatus.Embedded, null, audio.Segments.Count, batcher.Info.LayerCount, batcher.Info.HiddenSize, values, batcher.EncoderName, silo, audio.DurationSeconds);
        }
        finally
        {
            batcher.Release();
        }
    }

    public EmbedderStats Stats(int device, string silo) => Batcher(device).Stats(device, silo);

    /// <summary>The encoder a device runs (opening its session if it is not open yet).</summary>
    public EncoderInfo EncoderInfo(int device) => Batcher(device).Info;

    public void Dispose()
    {
        foreach (var device in _devices.Values.Where(d => d.IsValueCreated))
        {
            device.Value.Dispose();
        }

        _decodes.Dispose();
    }

    private FfmpegAudioDecoder Decoder(int sampleRate) =>
        _decoders.GetOrAdd(sampleRate, rate => new FfmpegAudioDecoder(new AudioOptions { SampleRate = rate }, _loggers.CreateLogger<FfmpegAudioDecoder>()));

    private DeviceBatcher Batcher(int device) =>
        _devices.GetOrAdd(device, d => new Lazy<DeviceBatcher>(() => new DeviceBatcher(Open(d), _options, _batchSizes, _loggers.CreateLogger<DeviceBatcher>()))).Value;

    private OnnxAudioEncoder Open(int device)
    {
        var path = _options.Encoder ?? Path.Combine(AppContext.BaseDirectory, "models", "tiny-mert.onnx");
        var options = new EncoderOptions
        {
            // CUDA on a GPU silo (falling back to CPU with a warning if it cannot load), CPU otherwise.
            Device = _options.Gpu ? EncoderDevice.Cuda : EncoderDevice.Cpu,
            DeviceIndex = device,
            MaxBatch = _options.MaxBatch,
            IntraOpThreads = _options.Threads,
            // One run on silence as the session opens: ORT's first run allocates and plans.
            WarmupRuns = 1,
        };
        return new OnnxAudioEncoder(path, options.Validate(), _loggers.CreateLogger<OnnxAudioEncoder>());
    }

    /// <summary>One device: its encoder session, the segment queue and the thread that batches it.</summary>
    internal sealed partial class DeviceBatcher : IDisposable
    {
        private readonly OnnxAudioEncoder _encoder;
        private readonly ScoringOptions _options;
        private readonly Histogram<int> _batchSizes;
        private readonly ILogger _logger;
        private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
        private readonly Thread _thread;
        private int _admitted;
        private long _runs;
        private long _segments;
        private long _tracks;
        private long _refused;
        private int _largest;

        public DeviceBatcher(OnnxAudioEncoder encoder, ScoringOptions options, Histogram<int> batchSizes, ILogger logger)
        {
            _encoder = encoder;
            _options = options;
            _batchSizes = batchSizes;
            _logger = logger;
            _thread = new Thread(Run) { IsBackground = true, Name = "apex-embedder" };
            _thread.Start();
        }

        public EncoderInfo Info => _encoder.Info;

        public string EncoderName => _encoder.Info.Identity;

        public int Admitted => Volatile.Read(ref _admitted);

        public bool TryAdmit()
        {
            if (Interlocked.Increment(ref _admitted) <= _options.QueueCapacity)
            {
                return true;
            }

            Interlocked.Decrement(ref _admitted);
            Interlocked.Increment(ref _refused);
            return false;
        }

        public void Release() => Interlocked.Decrement(ref _admitted);

        /// <summary>A track whose segments are queued one by one as they decode (<see cref="Add"/>).</summary>
        public TrackRows Start()
        {
            Interlocked.Increment(ref _tracks);
            return new TrackRows(_encoder.Info.SegmentWidth);
        }

        public void Add(TrackRows track, int index, float[] samples)
        {
            if (!_queue.Writer.TryWrite(new Pending(track, index, samples)))
            {
                track.Fail(Stopping());
            }
        }

        public EmbedderStats Stats(int device, string silo) => new(
            silo, device, _encoder.Info.Provider, Interlocked.Read(ref _runs), Interlocked.Read(ref _segments), Interlocked.Read(ref _tracks),
            Volatile.Read(ref _largest), Admitted, Interlocked.Read(ref _refused), _encoder.Info.Precision);

        /// <summary>
        /// Stops: segments still waiting are given back (their tracks stay queued in their grains), the
        /// batch in flight finishes, and only then is the session freed. Freeing it under a running batch
        /// crashed the process; a batch that outlives the wait keeps its session until the process ends.
        /// </summary>
        public void Dispose()
        {
            _queue.Writer.TryComplete();
            var stopping = Stopping();
            while (_queue.Reader.TryRead(out var pending))
            {
                pending.Track.Fail(stopping);
            }

            if (_thread.Join(TimeSpan.FromSeconds(30)))
            {
                _encoder.Dispose();
            }
        }

        private static ObjectDisposedException Stopping() => new(nameof(OnnxEmbeddingBackend), "The silo is stopping; the track stays queued.");

        private void Run()
        {
            var max = _encoder.MaxBatch;
            var batch = new List<Pending>(max);
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                var deadline = DateTime.UtcNow + _options.MaxWait;
                while (batch.Count < max)
                {
                    if (_queue.Reader.TryRead(out var next))
                    {
                        batch.Add(next);
                    }
                    else if (batch.Count == 0 || DateTime.UtcNow >= deadline || !WaitForMore(deadline))
                    {
                        break;
                    }
                }

                if (batch.Count > 0)
                {
                    RunBatch(batch);
                    batch.Clear();
                }
            }
        }

        private bool WaitForMore(DateTime deadline)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                return false;
            }

            var wait = _queue.Reader.WaitToReadAsync().AsTask();
            return wait.Wait(left) && wait.Result;
        }

        private void RunBatch(List<Pending> batch)
        {
            try
            {
                var output = _encoder.Encode(batch.Select(p => p.Samples).ToList());
                var width = _encoder.Info.SegmentWidth;
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Track.Set(batch[i].Index, output.AsSpan(i * width, width));
                }

                Interlocked.Increment(ref _runs);
                Interlocked.Add(ref _segments, batch.Count);
                InterlockedMax(ref _largest, batch.Count);
                _batchSizes.Record(batch.Count);
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                LogRunFailed(_logger, batch.Count, ex);
                foreach (var track in batch.Select(p => p.Track).Distinct())
                {
                    track.Fail(ex);
                }
            }
        }

        private static void InterlockedMax(ref int target, int value)
        {
            int current;
            while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
            {
            }
        }

        [LoggerMessage(Level = LogLevel.Error, Message = "An encoder run of {Segments} segments failed; their tracks stay queued")]
        private static partial void LogRunFailed(ILogger logger, int segments, Exception exception);
    }

    private sealed record Pending(TrackRows Track, int Index, float[] Samples);

    /// <summary>
    /// A track's output rows, filled by whichever batches its segments land in; the segment count is
    /// known only once decoding ends (<see cref="WaitAsync"/>).
    /// </summary>
    internal sealed class TrackRows(int width)
    {
        private readonly Lock _gate = new();
        private readonly Dictionary<int, float[]> _rows = [];
        private readonly TaskCompletionSource<float[]> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _expected = -1;

        public void Set(int index, ReadOnlySpan<float> row)
        {
            lock (_gate)
            {
                _rows[index] = row.ToArray();
                TryFinish();
            }
        }

        public void Fail(Exception error) => _done.TrySetException(error);

        /// <summary>The decode failed: rows still coming are dropped, nobody waits.</summary>
        public void Abandon() => _done.TrySetCanceled();

        /// <summary>Waits until all <paramref name="segments"/> rows are in; answers segments × width floats in order.</summary>
        public Task<float[]> WaitAsync(int segments, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _expected = segments;
                TryFinish();
            }

            return _done.Task.WaitAsync(cancellationToken);
        }

        private void TryFinish()
        {
            if (_expected < 0 || _rows.Count < _expected)
            {
                return;
            }

            var values = new float[_expected * width];
            for (var i = 0; i < _expected; i++)
            {
                _rows[i].CopyTo(values.AsSpan(i * width, width));
            }

            _done.TrySetResult(values);
        }
    }
}
