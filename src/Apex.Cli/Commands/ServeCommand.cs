using System.CommandLine;
using Apex.Silo.Hosting;

namespace Apex.Cli.Commands;

/// <summary><c>apex serve</c>: the host.</summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run the ApexCluster host: HTTP API + Orleans silo. Settings: appsettings.json, Apex__* environment variables, or --Apex:Setting=value (e.g. --Apex:DataDir=./data --Apex:MediaRoot=./media --urls http://127.0.0.1:5000).")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction((result, _) => ApexSiloHost.RunAsync(result.UnmatchedTokens.ToArray()));
        return command;
    }
}
