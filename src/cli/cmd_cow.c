/* umlhost cow create|info|merge: the UBD COW v3 tools, standalone (no daemon needed). */
#include "cli/cli.h"
#include "cow/cow_file.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

static const struct option merge_opts[] = {{"backing", required_argument, NULL, 'b'},
					   {"json", no_argument, NULL, 'j'},
					   {NULL, 0, NULL, 0}};
static const struct uh_cli_doc merge_docs[] = {
	{"PATH", "the backing file (default: the one the COW names)", 0},
	{NULL, NULL, 0},
};
const struct uh_cli_command uh_cli_cmd_cow_create = {
	"cow create", "COW BACKING", "a UBD COW v3 file over BACKING (no daemon)", NULL, NULL,
	uh_cmd_cow};
const struct uh_cli_command uh_cli_cmd_cow_info = {
	"cow info", "COW", "a COW file's header and how much of it is written", NULL, NULL,
	uh_cmd_cow};
const struct uh_cli_command uh_cli_cmd_cow_merge = {
	"cow merge", "COW OUTPUT", "the COW merged over its backing into a new sparse image",
	merge_opts, merge_docs, uh_cmd_cow};

static int cow_create(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_error err;

	if (argc != 3)
		return uh_cli_usage_of(cli, &uh_cli_cmd_cow_create);
	if (uh_cow_create(argv[1], argv[2], &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json)
		uh_cli_print_json(json_pack("{s:s, s:s}", "cow", argv[1], "backing", argv[2]));
	return UH_EXIT_OK;
}

static int cow_info(struct uh_cli *cli, int argc, char **argv)
{
	struct uh_cow_info info;
	const struct uh_cow_header *h = &info.header;
	struct uh_error err;

	if (argc != 2)
		return uh_cli_usage_of(cli, &uh_cli_cmd_cow_info);
	if (uh_cow_info(argv[1], &info, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json) {
		uh_cli_print_json(json_pack(
			"{s:s, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:i}", "backing_file",
			h->backing_file, "version", (int)h->version, "backing_mtime",
			(json_int_t)h->mtime, "size", (json_int_t)h->size, "sectorsize",
			(json_int_t)h->sectorsize, "alignment", (json_int_t)h->alignment,
			"bitmap_offset", (json_int_t)h->bitmap_offset, "bitmap_len",
			(json_int_t)h->bitmap_len, "data_offset", (json_int_t)h->data_offset,
			"allocated_sectors", (json_int_t)info.allocated_sectors, "cow_format",
			(int)h->cow_format));
		return UH_EXIT_OK;
	}
	printf("backing_file      %s\n", h->backing_file);
	printf("version           %u\n", h->version);
	printf("backing_mtime     %u\n", h->mtime);
	printf("size              %llu\n", (unsigned long long)h->size);
	printf("sectorsize        %u\n", h->sectorsize);
	printf("alignment         %u\n", h->alignment);
	printf("cow_format        %u\n", h->cow_format);
	printf("bitmap_offset     %llu\n", (unsigned long long)h->bitmap_offset);
	printf("bitmap_len        %llu\n", (unsigned long long)h->bitmap_len);
	printf("data_offset       %llu\n", (unsigned long long)h->data_offset);
	printf("allocated_sectors %llu\n", (unsigned long long)info.allocated_sectors);
	return UH_EXIT_OK;
}

static int cow_merge(struct uh_cli *cli, int argc, char **argv)
{
	static const struct option *const opts = merge_opts;
	const char *backing = NULL;
	struct uh_error err;
	int c;

	optind = 0;
	/* options anywhere, as the usage shows them after the files */
	while ((c = getopt_long(argc, argv, "b:", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			backing = optarg;
			break;
		case 'j':
			cli->json = 1;
			break;
		default:
			return uh_cli_usage_of(cli, &uh_cli_cmd_cow_merge);
		}
	}
	if (argc - optind != 2)
		return uh_cli_usage_of(cli, &uh_cli_cmd_cow_merge);
	if (uh_cow_merge(argv[optind], argv[optind + 1], backing, &err) < 0)
		return uh_cli_fail(cli, &err);
	if (cli->json)
		uh_cli_print_json(
			json_pack("{s:s, s:s}", "cow", argv[optind], "output", argv[optind + 1]));
	return UH_EXIT_OK;
}

int uh_cmd_cow(struct uh_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return uh_cli_usage(cli, "cow needs a subcommand (umlhost help cow)");
	if (strcmp(argv[1], "create") == 0)
		return cow_create(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "info") == 0)
		return cow_info(cli, argc - 1, argv + 1);
	if (strcmp(argv[1], "merge") == 0)
		return cow_merge(cli, argc - 1, argv + 1);
	return uh_cli_usage(cli, "unknown cow subcommand '%s' (umlhost help cow)", argv[1]);
}
