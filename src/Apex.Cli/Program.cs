using System.CommandLine;
using Apex.Cli.Commands;

var root = new RootCommand("apex: APEX popularity and aesthetics scoring for AI-generated music.")
{
    EmbedCommand.Create(),
    PopularityCommand.Create(),
    BenchCommand.Create(),
    DatasetCommand.Create(),
    TrainCommand.Create(),
    EvaluateCommand.CreateEvaluate(),
    EvaluateCommand.CreatePredict(),
    ScoreCommand.Create(),
    AblateCommand.Create(),
    ServeCommand.Create(),
    KeysCommand.Create(),
    SimulateCommand.Create(),
    ImportCommand.Create(),
    ReportCommand.Create(),
    ArenaCommand.Create(),
    ArenaCommand.CreateEval(),
    DbCommand.Create(),
};

return await root.Parse(args).InvokeAsync();
