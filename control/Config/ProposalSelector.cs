using Rekindle.Control.Encoding;
using Rekindle.Control.Encoding.Payloads;

namespace Rekindle.Control.Config;

/// <summary>Proposal matching (RFC 7296 §2.7): the responder picks one proposal and one transform of each type.</summary>
public static class ProposalSelector
{
    /// <summary>
    /// Walks our configured proposals in order and returns the first offered proposal they agree with, reduced to
    /// one transform per type, carrying the offered proposal's number and SPI. Null: NO_PROPOSAL_CHOSEN.
    /// </summary>
    public static Proposal? Select(IReadOnlyList<Proposal> ours, IReadOnlyList<Proposal> offered, ProtocolId protocol)
    {
        foreach (var mine in ours)
        {
            foreach (var theirs in offered)
            {
                if (theirs.Protocol != protocol || theirs.Transforms.Any(t => t.HasUnknownAttribute))
                    continue;
                var chosen = Match(mine, theirs);
                if (chosen != null)
                    return theirs with { Transforms = chosen };
            }
        }
        return null;
    }

    /// <summary>True when a responder's choice is a single-transform subset of what we offered.</summary>
    public static bool IsAcceptableChoice(IReadOnlyList<Proposal> offered, Proposal chosen) =>
        chosen.Transforms.GroupBy(t => t.Type).All(g => g.Count() == 1)
        && offered.Any(o => o.Number == chosen.Number && o.Protocol == chosen.Protocol
            && chosen.Transforms.All(o.Transforms.Contains)
            && o.Transforms.Select(t => t.Type).Distinct().All(type => type == TransformType.ExtendedSequenceNumbers && chosen.Find(type) == null || chosen.Find(type) != null));

    private static List<Transform>? Match(Proposal mine, Proposal theirs)
    {
        var types = mine.Transforms.Select(t => t.Type).Distinct().ToList();
        // A type offered by the peer that we have no opinion on (other than a NONE integrity) cannot be agreed on.
        foreach (var type in theirs.Transforms.Select(t => t.Type).Distinct())
        {
            if (!types.Contains(type) && !(type == TransformType.Integrity && theirs.All(type).Any(t => t.Id == 0))
                && !(type == TransformType.KeyExchange && theirs.All(type).Any(t => t.Id == 0)))
                return null;
        }
        var chosen = new List<Transform>();
        foreach (var type in types)
        {
            var match = mine.All(type).FirstOrDefault(m => theirs.Transforms.Contains(m));
            if (match == default)
            {
                // ESN: a peer that did not say is taken to mean "no ESN".
                if (type == TransformType.ExtendedSequenceNumbers && !theirs.All(type).Any() && mine.All(type).Any(t => t.Id == (ushort)EsnId.NoEsn))
                    continue;
                return null;
            }
            chosen.Add(match);
        }
        return chosen;
    }
}
