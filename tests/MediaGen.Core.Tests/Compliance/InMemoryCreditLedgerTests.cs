namespace MediaGen.Core.Tests.Compliance;

public sealed class InMemoryCreditLedgerTests : CreditLedgerComplianceTests
{
    protected override ValueTask<ICreditLedger> CreateLedgerAsync(long initialBalance) =>
        ValueTask.FromResult<ICreditLedger>(new InMemoryCreditLedger(Options.Create(new CreditLedgerOptions { InitialBalance = initialBalance }), Time));
}
