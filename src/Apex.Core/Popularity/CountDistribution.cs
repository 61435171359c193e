namespace Apex.Core.Popularity;

/// <summary>
/// A multiset of counts (one per track) that answers the percentile rank of any count in O(log n),
/// exactly, as the population changes: an order-statistic treap keyed by count, each node holding a
/// distinct count, its multiplicity and its subtree's total. Written by hand because neither the BCL
/// nor the mirror's libraries have an order-statistic tree (SortedSet's views count in O(n)).
/// </summary>
public sealed class CountDistribution
{
    private readonly Random _priorities = new(0x5eed);
    private Node? _root;

    /// <summary>Number of counts held (with multiplicity).</summary>
    public long Total => _root?.Size ?? 0;

    public void Add(long count) => _root = Insert(_root, count);

    /// <summary>Removes one occurrence of <paramref name="count"/>; false when it is not held.</summary>
    public bool Remove(long count)
    {
        var removed = false;
        _root = Delete(_root, count, ref removed);
        return removed;
    }

    /// <summary>Moves one track from <paramref name="from"/> to <paramref name="to"/>.</summary>
    public void Move(long from, long to)
    {
        if (!Remove(from))
        {
            throw new InvalidOperationException($"No track holds count {from}.");
        }

        Add(to);
    }

    /// <summary>How many counts are below <paramref name="count"/>, and how many equal it.</summary>
    public (long Less, long Equal) Rank(long count)
    {
        long less = 0;
        for (var node = _root; node is not null;)
        {
            if (count < node.Count)
            {
                node = node.Left;
            }
            else if (count > node.Count)
            {
                less += (node.Left?.Size ?? 0) + node.Multiplicity;
                node = node.Right;
            }
            else
            {
                return (less + (node.Left?.Size ?? 0), node.Multiplicity);
            }
        }

        return (less, 0);
    }

    /// <summary>
    /// The percentile rank of <paramref name="count"/> as pandas <c>rank(pct=True)</c> gives it to a
    /// member: (counts below + (ties + 1) / 2) / total. A count nobody holds ranks as if one more track
    /// held it, among the current total. NaN when empty.
    /// </summary>
    public double Percentile(long count)
    {
        if (Total == 0)
        {
            return double.NaN;
        }

        var (less, equal) = Rank(count);
        var total = Total + (equal == 0 ? 1 : 0);
        return (less + (Math.Max(equal, 1) + 1) / 2.0) / total;
    }

    private Node Insert(Node? node, long count)
    {
        if (node is null)
        {
            return new Node(count, _priorities.Next());
        }

        if (count == node.Count)
        {
            node.Multiplicity++;
        }
        else if (count < node.Count)
        {
            node.Left = Insert(node.Left, count);
            if (node.Left.Priority > node.Priority)
            {
                node = RotateRight(node);
            }
        }
        else
        {
            node.Right = Insert(node.Right, count);
            if (node.Right.Priority > node.Priority)
            {
                node = RotateLeft(node);
            }
        }

        node.Update();
        return node;
    }

    private static Node? Delete(Node? node, long count, ref bool removed)
    {
        if (node is null)
        {
            return null;
        }

        if (count < node.Count)
        {
            node.Left = Delete(node.Left, count, ref removed);
        }
        else if (count > node.Count)
        {
            node.Right = Delete(node.Right, count, ref removed);
        }
        else
        {
            removed = true;
            if (node.Multiplicity > 1)
            {
                node.Multiplicity--;
            }
            else
            {
                return Merge(node.Left, node.Right);
            }
        }

        node.Update();
        return node;
    }

    private static Node? Merge(Node? left, Node? right)
    {
        if (left is null || right is null)
        {
            return left ?? right;
        }

        if (left.Priority > right.Priority)
        {
            left.Right = Merge(left.Right, right);
            left.Update();
            return left;
        }

        right.Left = Merge(left, right.Left);
        right.Update();
        return right;
    }

    private static Node RotateRight(Node node)
    {
        var left = node.Left!;
        node.Left = left.Right;
        left.Right = node;
        node.Update();
        left.Update();
        return left;
    }

    private static Node RotateLeft(Node node)
    {
        var right = node.Right!;
        node.Right = right.Left;
        right.Left = node;
        node.Update();
        right.Update();
        return right;
    }

    private sealed class Node(long count, int priority)
    {
        public long Count { get; } = count;

        public int Priority { get; } = priority;

        public long Multiplicity { get; set; } = 1;

        public long Size { get; private set; } = 1;

        public Node? Left { get; set; }

        public Node? Right { get; set; }

        public void Update() => Size = Multiplicity + (Left?.Size ?? 0) + (Right?.Size ?? 0);
    }
}
