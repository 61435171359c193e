using System.ComponentModel.DataAnnotations;

namespace Apex.Silo.Hosting;

/// <summary>
/// Validates section Apex with its annotations and rules, answering each failure in the words an
/// operator acts on (the generated validator's messages prefix every rule with type and member names).
/// </summary>
public sealed class ApexOptionsValidation : IValidateOptions<ApexOptions>
{
    public ValidateOptionsResult Validate(string? name, ApexOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<ValidationResult>();
        return Validator.TryValidateObject(options, new ValidationContext(options), errors, validateAllProperties: true)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail(errors.Select(e => e.ErrorMessage ?? "invalid setting"));
    }
}
