using Apex.Silo.Auth;
using Microsoft.Data.Sqlite;

namespace Apex.Silo.Tests;

public sealed class ApiKeyCacheTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("apex-keycache-").FullName;

    public void Dispose() => Directory.Delete(_data, recursive: true);

    [Fact]
    public async Task A_cached_key_outlives_an_unreachable_database_and_a_removed_key_stops_within_the_fresh_time()
    {
        string key;
        using (var store = await ApiKeyStore.OpenAsync(_data))
        {
            (key, var info) = await store.CreateAsync("reader", "dashboards");
            Assert.Equal(info.Id, (await store.FindAsync(key))?.Id);

            // The database cannot be opened any more (its file is a folder now).
            SqliteConnection.ClearAllPools();
            var file = Path.Combine(_data, "keys.db");
            File.Delete(file);
            Directory.CreateDirectory(file);
            await Task.Delay(ApiKeyStore.Fresh + TimeSpan.FromMilliseconds(200));
            Assert.Equal(info.Id, (await store.FindAsync(key))?.Id);
            await Assert.ThrowsAnyAsync<System.Data.Common.DbException>(() => store.FindAsync(key + "-unknown"));

            // Back, without the key (its table recreated empty): a stale entry is checked, and refused.
            Directory.Delete(file);
            using (await ApiKeyStore.OpenAsync(_data))
            {
            }

            Assert.Null(await store.FindAsync(key));

            // A key removed while the database answers stops working within the fresh time.
            var (second, _) = await store.CreateAsync("reader", "second");
            Assert.NotNull(await store.FindAsync(second));
            await using (var connection = new SqliteConnection(Apex.Grains.Storage.SqliteGrainStorage.ConnectionString(file)))
            {
                await connection.OpenAsync();
                await using var command = connection.CreateCommand();
                command.CommandText = "DELETE FROM apex_keys";
                Assert.Equal(1, await command.ExecuteNonQueryAsync());
            }

            await Task.Delay(ApiKeyStore.Fresh + TimeSpan.FromMilliseconds(200));
            Assert.Null(await store.FindAsync(second));
        }
    }
}
