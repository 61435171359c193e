using System.Collections.Concurrent;
using Apex.Grains;
using Apex.Grains.Ingest;
using Apex.Grains.Scoring;
using Apex.Grains.Storage;
using Apex.Scoring;
using Apex.Testing;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Runtime.MembershipService.SiloMetadata;
using Orleans.TestingHost;

namespace Apex.Cluster.Tests;

/// <summary>
/// An in-process cluster whose silos score tracks for real (ffmpeg, ONNX Runtime with the bundled
/// encoder fixture, TorchSharp head), each silo told whether it is a GPU silo through its metadata.
/// On this machine a "GPU" silo's encoder falls back to CPU, as the product does where CUDA cannot load.
/// </summary>
internal sealed class ScoringCluster : IAsyncDisposable
{
    private readonly ConcurrentQueue<bool> _nextSilos;
    private readonly ConcurrentDictionary<string, bool> _gpuBySilo = new();
    private readonly string _folder;

    private ScoringCluster(string folder, IEnumerable<bool> gpu)
    {
        _folder = folder;
        _nextSilos = new ConcurrentQueue<bool>(gpu);
    }

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IIngestLog Log { get; private set; } = null!;

    /// <summary>The signal feed the silos record in (the score store's database).</summary>
    public Apex.Grains.Signals.SignalFeed Feed { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public static string Samples => Path.Combine(AppContext.BaseDirectory, "samples");

    /// <summary>Starts silos whose gpu flags are <paramref name="gpu"/>, in order; the first silo is the primary.</summary>
    public static Task<ScoringCluster> StartAsync(string modelsFolder, ScoringOptions options, params bool[] gpu) => StartAsync(modelsFolder, options, gpu, null);

    /// <summary>Starts silos as <see cref="StartAsync(string, ScoringOptions, bool[])"/> does, with trainer settings, on SQLite files or (given <c>postgres</c>, a prepared database) on PostgreSQL.</summary>
    public static async Task<ScoringCluster> StartAsync(string modelsFolder, ScoringOptions options, bool[] gpu, Apex.Scoring.Training.TrainerOptions? trainer, string? postgres = null)
    {
        var folder = Directory.CreateTempSubdirectory("apex-scoring-").FullName;
        var scoring = new ScoringCluster(folder, gpu);
        AdoNetDatabase database;
        ScoreStore store;
        if (postgres is null)
        {
            var connectionString = SqliteGrainStorage.ConnectionString(Path.Combine(folder, "grains.db"));
            await SqliteGrainStorage.ApplySchemaAsync(connectionString);
            database = AdoNetDatabase.Sqlite(connectionString);
            scoring.Log = await SqliteIngestLog.OpenAsync(Path.Combine(folder, "ingest.db"));
            store = await ScoreStore.OpenSqliteAsync(Path.Combine(folder, "scores.db"));
            scoring.Feed = Apex.Grains.Signals.SignalFeed.CreateSqlite(Path.Combine(folder, "scores.db"));
        }
        else
        {
            database = AdoNetDatabase.Postgres(postgres);
            scoring.Log = await PostgresIngestLog.OpenAsync(postgres);
            store = ScoreStore.OpenPostgres(postgres);
            scoring.Feed = Apex.Grains.Signals.SignalFeed.OpenPostgres(postgres);
        }

        var builder = new InProcessTestClusterBuilder((short)gpu.Length);
        builder.Options.ServiceId = "scoring-" + Guid.NewGuid().ToString("N")[..8];
        builder.Options.ClusterId = "scoring-" + Guid.NewGuid().ToString("N");
        builder.ConfigureSilo((siloOptions, silo) =>
        {
            var isGpu = scoring._gpuBySilo.GetOrAdd(siloOptions.SiloName, _ => scoring._nextSilos.TryDequeue(out var next) && next);
            var metadata = EmbedderDirectory.Metadata(isGpu, options.AllowCpu, [0]);
            metadata["gpu"] = isGpu ? "true" : "false";
            silo.UseSiloMetadata(metadata)
                .AddApexScoring(new ScoringSetup(options with { Gpu = isGpu }, new MediaLocations(Samples, Path.Combine(folder, "uploads")), modelsFolder, SyntheticDemo: false), _ => store)
                .AddApexGrainStorage(StorageNames.Tracks, database)
                .AddApexGrainStorage(StorageNames.Backfill, database)
                .UseApexReminders(database);
            silo.Services.AddSingleton<IIngestLog>(scoring.Log);
            silo.Services.AddSingleton(scoring.Feed);
            if (trainer is not null)
            {
                silo.Services.AddSingleton(trainer);
            }
        });
        scoring.Cluster = builder.Build();
        await scoring.Cluster.DeployAsync();
        return scoring;
    }

    /// <summary>Two silos with no embedder (no GPU, no CPU encoding) on a fresh PostgreSQL database: queued tracks stay queued.</summary>
    public static async Task<ScoringCluster> StartWithoutEmbedderAsync(string modelsFolder, ThrowawayPostgres postgres)
    {
        ArgumentNullException.ThrowIfNull(postgres);
        var database = await postgres.CreateDatabaseAsync();
        await PostgresSchema.ApplyAsync(database);
        var cluster = await StartAsync(modelsFolder, new ScoringOptions { AllowCpu = false }, [false, false], trainer: null, postgres: database);
        cluster.Database = database;
        return cluster;
    }

    /// <summary>The PostgreSQL database of a cluster started by <see cref="StartWithoutEmbedderAsync"/>.</summary>
    public string? Database { get; private set; }

    /// <summary>The silo handle and address of every silo started as a GPU silo and still running.</summary>
    public IReadOnlyList<InProcessSiloHandle> GpuSilos => Cluster.Silos.Where(s => _gpuBySilo.TryGetValue(s.Name, out var gpu) && gpu).ToList();

    public Task<InProcessSiloHandle> StartSiloAsync(bool gpu)
    {
        _nextSilos.Enqueue(gpu);
        return Cluster.StartAdditionalSiloAsync();
    }

    public Task<ScoreStore> OpenStoreAsync() => ScoreStore.OpenSqliteAsync(Path.Combine(_folder, "scores.db"));

    /// <summary>Waits until every track has left the queue (scored or failed) and answers their views.</summary>
    public async Task<IReadOnlyList<TrackView>> WaitScoredAsync(IEnumerable<string> tracks, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var views = await Task.WhenAll(tracks.Select(t => Client.GetGrain<ITrackGrain>(t).GetAsync()));
            if (views.All(v => v!.Scoring!.Status != ScoringStatus.Queued))
            {
                return views!;
            }

            Assert.True(DateTime.UtcNow < deadline, "still queued: " + string.Join("; ", views.Where(v => v!.Scoring!.Status == ScoringStatus.Queued).Select(v => $"{v!.TrackId}: {v.Scoring!.Error}")));
            await Task.Delay(250);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await Log.DisposeAsync();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }
}
