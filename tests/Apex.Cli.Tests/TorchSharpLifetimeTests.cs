using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Apex.Cli.Tests;

/// <summary>
/// TorchSharp 0.107 turns numbers into <c>Scalar</c> objects (implicitly, and inside many of its own
/// methods such as <c>Tensor.add(Tensor)</c>) and passes their native handle to libtorch without keeping
/// the object alive. A garbage collection during that native call can run the Scalar's finalizer, which
/// frees the native scalar while libtorch still reads it: "Unknown scalar type", or a wrong value.
/// These tests read the IL of every product assembly and of TorchSharp itself and fail on any path
/// from product code to such a temporary.
/// </summary>
public sealed class TorchSharpLifetimeTests
{
    private static readonly Lazy<ScalarTemporaries> Analysis = new(() => new ScalarTemporaries(AppContext.BaseDirectory));

    [Fact]
    public void The_analysis_finds_the_temporaries_it_is_meant_to_find()
    {
        var analysis = Analysis.Value;

        // TorchSharp's own optimizer step and Tensor.add(Tensor) (alpha = 1) make temporaries: if the
        // analysis did not see them, an empty result below would mean nothing.
        Assert.True(analysis.CreatesTemporary("TorchSharp.Modules.AdamW", "step"));
        Assert.True(analysis.CreatesTemporary("TorchSharp.torch/Tensor", "add", "TorchSharp.torch/Tensor"));
        Assert.False(analysis.CreatesTemporary("TorchSharp.torch/Tensor", "add", "TorchSharp.torch/Tensor", "TorchSharp.Scalar"));
    }

    [Fact]
    public void No_product_code_passes_a_temporary_scalar_to_libtorch()
    {
        var findings = Analysis.Value.ProductFindings();

        Assert.True(findings.Count == 0, "Temporary TorchSharp scalars reach native calls in:\n" + string.Join('\n', findings));
    }
}

/// <summary>The IL analysis behind <see cref="TorchSharpLifetimeTests"/> (Mono.Cecil reads the assemblies).</summary>
internal sealed class ScalarTemporaries : IDisposable
{
    private const string ScalarType = "TorchSharp.Scalar";
    private const string ScalarExtensions = "TorchSharp.ScalarExtensionMethods";

    private readonly string _directory;
    // By full name: the resolver reads its own copy of TorchSharp, so definitions differ as objects.
    private readonly HashSet<string> _tainted = new(StringComparer.Ordinal);
    private readonly DefaultAssemblyResolver _resolver = new();
    private readonly AssemblyDefinition _torch;

    public ScalarTemporaries(string directory)
    {
        _directory = directory;
        _resolver.AddSearchDirectory(directory);
        _resolver.AddSearchDirectory(Path.GetDirectoryName(typeof(object).Assembly.Location)!);
        var torch = _torch = Read("TorchSharp.dll");
        var methods = torch.MainModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody).ToList();
        var callers = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        var work = new Queue<string>();
        foreach (var method in methods)
        {
            foreach (var instruction in method.Body.Instructions)
            {
                if (instruction.Operand is not MethodReference callee)
                {
                    continue;
                }

                if (CreatesScalar(callee) && !IsScalarFactory(method) && !IsHeld(instruction))
                {
                    if (_tainted.Add(method.FullName))
                    {
                        work.Enqueue(method.FullName);
                    }
                }
                else if (IsTorchSharp(callee) && Resolve(callee) is { } definition)
                {
                    if (!callers.TryGetValue(definition.FullName, out var list))
                    {
                        callers[definition.FullName] = list = [];
                    }

                    list.Add(method.FullName);
                }
            }
        }

        // Whoever calls a method that makes a temporary makes one too (calls inside TorchSharp).
        while (work.TryDequeue(out var method))
        {
            foreach (var caller in callers.GetValueOrDefault(method) ?? [])
            {
                if (_tainted.Add(caller))
                {
                    work.Enqueue(caller);
                }
            }
        }
    }

    public bool CreatesTemporary(string type, string method, params string[] parameters) =>
        _torch.MainModule.GetTypes().Where(t => t.FullName == type).SelectMany(t => t.Methods).Any(m => m.Name == method && _tainted.Contains(m.FullName)
            && (parameters.Length == 0 || m.Parameters.Select(p => p.ParameterType.FullName).SequenceEqual(parameters)));

    /// <summary>Each place in a product assembly that makes a temporary scalar or calls TorchSharp code that does.</summary>
    public List<string> ProductFindings()
    {
        var findings = new List<string>();
        foreach (var file in Directory.GetFiles(_directory, "*.dll").Where(IsProductAssembly))
        {
            var assembly = Read(Path.GetFileName(file));
            if (!assembly.MainModule.AssemblyReferences.Any(r => r.Name == "TorchSharp"))
            {
                continue;
            }

            foreach (var method in assembly.MainModule.GetTypes().SelectMany(t => t.Methods).Where(m => m.HasBody))
            {
                foreach (var instruction in method.Body.Instructions)
                {
                    if (instruction.Operand is MethodReference callee && Finding(callee, instruction) is { } finding)
                    {
                        findings.Add($"{method.DeclaringType.FullName}::{method.Name} (IL_{instruction.Offset:x4}): {finding}");
                    }
                }
            }
        }

        return findings;
    }

    private string? Finding(MethodReference callee, Instruction instruction)
    {
        if (CreatesScalar(callee))
        {
            return IsHeld(instruction) ? null : $"{callee.Name} makes a Scalar that nothing holds (keep it in a using variable or a static field)";
        }

        if (!IsTorchSharp(callee) || Resolve(callee) is not { } definition)
        {
            return null;
        }

        if (_tainted.Contains(definition.FullName))
        {
            return $"{definition.DeclaringType.Name}.{definition.Name}({string.Join(", ", definition.Parameters.Select(p => p.ParameterType.Name))}) makes a temporary Scalar inside TorchSharp";
        }

        // Modules and optimizers are called through virtual methods: check what the product creates.
        // (A base constructor call from a product subclass creates nothing: the subclass's own methods are checked.)
        var created = definition.IsConstructor
            ? (instruction.OpCode.Code == Code.Newobj ? definition.DeclaringType : null)
            : definition.ReturnType.Resolve();
        foreach (var type in SelfAndBases(created).TakeWhile(t => t.Module.Name == "TorchSharp.dll"))
        {
            if (type.Methods.FirstOrDefault(m => m.Name is "forward" or "step" && _tainted.Contains(m.FullName)) is { } virtualMethod)
            {
                return $"{created!.Name}.{virtualMethod.Name} makes a temporary Scalar inside TorchSharp";
            }
        }

        return null;
    }

    private static bool IsTorchSharp(MethodReference method) => method.DeclaringType.Scope.Name is "TorchSharp" or "TorchSharp.dll";

    private static bool IsProductAssembly(string file)
    {
        var name = Path.GetFileName(file);
        return (name.StartsWith("Apex.", StringComparison.Ordinal) || name == "apex.dll") && !name.Contains(".Tests", StringComparison.Ordinal) && name != "Apex.Testing.dll";
    }

    private static bool CreatesScalar(MethodReference callee) =>
        (callee.DeclaringType.FullName == ScalarType && callee.Name == "op_Implicit")
        || (callee.DeclaringType.FullName == ScalarExtensions && callee.Name.StartsWith("To", StringComparison.Ordinal) && callee.ReturnType.FullName == ScalarType);

    private static bool IsScalarFactory(MethodDefinition method) => method.DeclaringType.FullName is ScalarType or ScalarExtensions;

    /// <summary>A new scalar stored at once in a variable or field is held (the variable must be a <c>using</c> one; review checks that).</summary>
    private static bool IsHeld(Instruction instruction) =>
        instruction.Next?.OpCode.Code is Code.Stloc or Code.Stloc_S or Code.Stloc_0 or Code.Stloc_1 or Code.Stloc_2 or Code.Stloc_3 or Code.Stsfld or Code.Stfld;

    private static IEnumerable<TypeDefinition> SelfAndBases(TypeDefinition? type)
    {
        for (var t = type; t is not null; t = t.BaseType?.Resolve())
        {
            yield return t;
        }
    }

    public void Dispose() => _resolver.Dispose();

    private static MethodDefinition? Resolve(MethodReference method)
    {
        try
        {
            return method.Resolve();
        }
        catch (AssemblyResolutionException)
        {
            return null;
        }
    }

    private AssemblyDefinition Read(string file) =>
        AssemblyDefinition.ReadAssembly(Path.Combine(_directory, file), new ReaderParameters { AssemblyResolver = _resolver });
}
