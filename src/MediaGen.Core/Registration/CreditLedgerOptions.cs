using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace MediaGen;

/// <summary>Options every <see cref="ICreditLedger"/> implementation honours.</summary>
public sealed class CreditLedgerOptions
{
    /// <summary>The balance an owner has the first time the ledger sees them.</summary>
    /// <value>The default value is 0.</value>
    [Range(0, long.MaxValue)]
    public long InitialBalance { get; set; }
}

/// <summary>Validates <see cref="CreditLedgerOptions"/> at start-up.</summary>
[OptionsValidator]
internal sealed partial class CreditLedgerOptionsValidator : IValidateOptions<CreditLedgerOptions>
{
}
